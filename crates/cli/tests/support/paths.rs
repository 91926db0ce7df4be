//! Where a test finds the repository's files (scripts, `bin/`, `config/`). Shared by
//! `#[path]` with rafka-connect's and rafka-connect-jdbc's tests.
//!
//! At run time, not compile time: `cargo test` runs a test with `CARGO_MANIFEST_DIR`
//! set to its package's directory, while `env!("CARGO_MANIFEST_DIR")` is the directory
//! of the checkout that compiled it. Checkouts that share a target directory (CI's
//! clones, worktrees) may run a test binary another checkout built, whose path may be
//! gone ("setup-postgres.sh: No such file or directory").

#![allow(unreachable_pub, dead_code)]

use std::path::PathBuf;

/// The directory of the package whose test runs (`crates/<name>`).
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// A path under the repository's root (`bin`, `scripts/setup-postgres.sh`, …).
pub fn repo_path(relative: &str) -> PathBuf {
    manifest_dir().join("../..").join(relative)
}
