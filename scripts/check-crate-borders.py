#!/usr/bin/env python3
"""Checks that the workspace's crates depend on each other as DESIGN.md's crate table says.

    scripts/check-crate-borders.py [METADATA_JSON]   check (runs `cargo metadata` unless
                                                     a saved output is given)
    scripts/check-crate-borders.py --self-test       show that each rule can fail

Rules, over every kind of dependency (normal, dev, build):
1. only `rafka-cli` depends on `rafka-broker` (the tools, Connect, the REST proxy and
   the monitor are Kafka clients, never the broker's internals);
2. `rafka-protocol` does not depend on `tokio` (it owns bytes, not sockets);
3. dependencies point down DESIGN.md's list only: a crate depends only on crates of
   earlier levels in LEVELS. A crate of the list that does not exist yet is skipped; a
   crate under `crates/` that is not in the list fails, so that a new crate gets a place.
   Packages outside `crates/` (the benchmarks) are held to rules 1 and 2 only.

Exits 1 with one line per offence, naming the crate and the dependency. Python 3
standard library only.
"""

import copy
import json
import os
import subprocess
import sys
import tempfile

# DESIGN.md's crate table, top to bottom: each level may depend on earlier levels only.
# `security` (pure SASL/ACL logic, no rafka dependency) sits right below `client`: the
# client side of the SASL mechanisms serves `client` (tools, the replica fetcher), the
# JAAS parser serves `config`, and the SCRAM credential type serves `metadata`.
# `client` sits below `broker` (the list has it after): the broker's replica fetcher is a
# Kafka client of the other brokers, and `client` needs nothing but `protocol`.
# `connect-data` (Connect's data model, converters and transforms: pure logic) sits below
# the `connect` runtime and the connectors, which all build on it.
# `connect-jdbc` (the JDBC source and sink engines) sits between them: it builds on
# `connect-data` only, never on the runtime, so that the runtime can load it by class name.
LEVELS = [
    ["rafka-types"],
    ["rafka-protocol"],
    ["rafka-security"],
    ["rafka-client"],
    ["rafka-log"],
    ["rafka-config"],
    ["rafka-metadata"],
    ["rafka-coordinator"],
    ["rafka-broker"],
    ["rafka-connect-data"],
    ["rafka-connect-jdbc"],
    ["rafka-connect"],
    ["rafka-connect-*"],
    ["rafka-rest-proxy", "rafka-monitor", "rafka-burrow"],
    ["rafka-tools"],
    ["rafka-cli"],
]

BROKER = "rafka-broker"
ONLY_BROKER_USER = "rafka-cli"
SOCKET_FREE = {"rafka-protocol": ["tokio"]}


def level_of(name):
    """The index in LEVELS of crate `name`, or None when the list has no place for it."""
    for index, level in enumerate(LEVELS):
        for pattern in level:
            if pattern.endswith("*"):
                if name.startswith(pattern[:-1]):
                    return index
            elif name == pattern:
                return index
    return None


def kind_name(dependency):
    return {None: "normal", "dev": "dev", "build": "build"}.get(
        dependency.get("kind"), str(dependency.get("kind"))
    )


def workspace_packages(metadata):
    members = set(metadata.get("workspace_members", []))
    return [p for p in metadata["packages"] if not members or p["id"] in members]


def under_crates(package, metadata):
    """Whether the package lives under `crates/` (the benchmarks do not)."""
    root = metadata.get("workspace_root", "")
    relative = os.path.relpath(package["manifest_path"], root) if root else ""
    return relative.split(os.sep)[0] == "crates"


def offences(metadata):
    """Every broken rule, one line each; empty when the borders hold."""
    packages = workspace_packages(metadata)
    names = {p["name"] for p in packages}
    found = []
    for package in sorted(packages, key=lambda p: p["name"]):
        name = package["name"]
        level = level_of(name)
        if level is None and under_crates(package, metadata):
            found.append(
                f"{name} has no place in the crate order: add it to LEVELS in "
                f"scripts/check-crate-borders.py and to DESIGN.md's crate table"
            )
        for dependency in package["dependencies"]:
            target, kind = dependency["name"], kind_name(dependency)
            if target == BROKER and name != ONLY_BROKER_USER:
                found.append(
                    f"{name} depends on {BROKER} ({kind} dependency): only "
                    f"{ONLY_BROKER_USER} may; use rafka-client, rafka-config or a crate "
                    f"below the broker"
                )
            if target in SOCKET_FREE.get(name, []):
                found.append(
                    f"{name} depends on {target} ({kind} dependency): it owns bytes "
                    f"only, no sockets or runtime (DESIGN.md)"
                )
            if target not in names or level is None or target == BROKER:
                continue
            target_level = level_of(target)
            if target_level is None or target_level >= level:
                found.append(
                    f"{name} depends on {target} ({kind} dependency), which is not "
                    f"below it in the crate order (dependencies point down the list only)"
                )
    return found


def cargo_metadata():
    output = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    return json.loads(output)


def check(metadata):
    found = offences(metadata)
    for line in found:
        print(f"crate-borders: {line}", file=sys.stderr)
    if found:
        print(f"crate-borders: {len(found)} offence(s)", file=sys.stderr)
        return 1
    count = len(workspace_packages(metadata))
    print(f"crate-borders: the borders of {count} workspace packages hold")
    return 0


def self_test():
    """Feeds this script doctored copies of the workspace's metadata, through the same
    command line as the real check, and requires each to fail naming its offender."""
    real = cargo_metadata()

    def doctored(change):
        metadata = copy.deepcopy(real)
        change({p["name"]: p for p in metadata["packages"]}, metadata)
        return metadata

    def add(crate, dependency, kind=None):
        def change(by_name, _):
            by_name[crate]["dependencies"].append({"name": dependency, "kind": kind})

        return change

    def add_crate(by_name, metadata):
        new = copy.deepcopy(by_name["rafka-types"])
        new["name"] = "rafka-unplaced"
        new["id"] = new["id"].replace("rafka-types", "rafka-unplaced")
        new["manifest_path"] = new["manifest_path"].replace("types", "unplaced")
        metadata["packages"].append(new)
        metadata["workspace_members"].append(new["id"])

    # (what, metadata, the exit status expected, a text the offence line must contain)
    cases = [
        ("the workspace as it is", real, 0, None),
        (
            "tools on the broker",
            doctored(add("rafka-tools", BROKER)),
            1,
            "rafka-tools depends on rafka-broker (normal",
        ),
        (
            "a dev-dependency on the broker",
            doctored(add("rafka-log", BROKER, "dev")),
            1,
            "rafka-log depends on rafka-broker (dev",
        ),
        (
            "protocol on tokio",
            doctored(add("rafka-protocol", "tokio")),
            1,
            "rafka-protocol depends on tokio",
        ),
        (
            "log on tools (up the list)",
            doctored(add("rafka-log", "rafka-tools")),
            1,
            "rafka-log depends on rafka-tools",
        ),
        (
            "a build-dependency up the list",
            doctored(add("rafka-protocol", "rafka-client", "build")),
            1,
            "rafka-protocol depends on rafka-client (build",
        ),
        (
            "a crate with no place in the order",
            doctored(add_crate),
            1,
            "rafka-unplaced has no place",
        ),
        ("cli on the broker (allowed)", doctored(add("rafka-cli", BROKER)), 0, None),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as directory:
        for index, (what, metadata, expected_status, expected_text) in enumerate(cases):
            path = os.path.join(directory, f"metadata-{index}.json")
            with open(path, "w") as f:
                json.dump(metadata, f)
            run = subprocess.run(
                [sys.executable, os.path.abspath(__file__), path],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            ok = run.returncode == expected_status and (
                expected_text is None or expected_text in run.stderr
            )
            verdict = "ok  " if ok else "FAIL"
            print(f"crate-borders self-test: {verdict} {what} -> exit {run.returncode}")
            if not ok:
                failures += 1
                print(run.stdout + run.stderr, file=sys.stderr)
    if failures:
        print(f"crate-borders self-test: {failures} case(s) failed", file=sys.stderr)
        return 1
    return 0


def main(args):
    if args == ["--self-test"]:
        return self_test()
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(__doc__, file=sys.stderr)
        return 2
    if args:
        with open(args[0]) as f:
            return check(json.load(f))
    return check(cargo_metadata())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
