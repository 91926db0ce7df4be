//! Kafka's quickstart, end to end, through the `bin/` scripts and `config/server.properties`:
//! format storage, start the server, create `quickstart-events`, write two events from
//! standard input, read them back from the beginning. Only the ports and the data
//! directory of the shipped config are changed, so that the test runs beside others.

mod common;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::free_port;

fn repo() -> PathBuf {
    common::repo_path("")
}

fn script(name: &str) -> Command {
    let mut command = Command::new(repo().join("bin").join(name));
    command.env("RAFKA_BIN", env!("CARGO_BIN_EXE_rafka"));
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a script that must succeed within a minute, with `input` on stdin.
fn run(name: &str, args: &[&str], input: &str) -> Output {
    let out = tempfile::tempfile().expect("stdout file");
    let err = tempfile::tempfile().expect("stderr file");
    let mut child = script(name)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(out.try_clone().expect("stdout"))
        .stderr(err.try_clone().expect("stderr"))
        .spawn()
        .expect("spawn script");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for script") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name} {args:?} did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |mut file: std::fs::File| {
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).expect("seek");
        file.read_to_end(&mut bytes).expect("read");
        bytes
    };
    let output = Output {
        status,
        stdout: read(out),
        stderr: read(err),
    };
    assert!(
        output.status.success(),
        "{name} {args:?} exited with {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// The server started by `kafka-server-start.sh`, stopped with SIGTERM (also when a test
/// assertion fails, so that no server outlives the test).
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit code of a clean shutdown.
    fn stop(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not stop on SIGTERM: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- server log ----\n{}", self.log());
        }
    }
}

/// A shipped config file with its ports and data directory moved into `dir`, after
/// checking it has the lines the quickstart relies on (`quorum_line` names the quorum).
fn quickstart_config(
    dir: &Path,
    shipped: &str,
    quorum_line: &str,
    port: u16,
    controller_port: u16,
) -> PathBuf {
    let shipped = std::fs::read_to_string(repo().join(shipped)).expect(shipped);
    for expected in [
        "process.roles=broker,controller",
        "listeners=PLAINTEXT://:9092,CONTROLLER://:9093",
        "log.dirs=/tmp/kraft-combined-logs",
        quorum_line,
    ] {
        assert!(shipped.lines().any(|l| l == expected), "missing {expected}");
    }
    let data = dir.join("kraft-combined-logs");
    let config = shipped
        .replace(":9092", &format!(":{port}"))
        .replace(":9093", &format!(":{controller_port}"))
        .replace("/tmp/kraft-combined-logs", &data.display().to_string());
    let path = dir.join("server.properties");
    std::fs::write(&path, config).expect("write config");
    path
}

/// Kafka 4's quickstart: `format --standalone` with `config/server.properties`.
#[test]
fn kafka_quickstart_runs_verbatim_through_the_scripts() {
    quickstart(
        "config/server.properties",
        "controller.quorum.bootstrap.servers=localhost:9093",
        &["--standalone"],
    );
}

/// Kafka 3.x's KRaft quickstart, as the seed tutorials write it:
/// `kafka-storage.sh format -t $KAFKA_CLUSTER_ID -c config/kraft/server.properties`, whose
/// static `controller.quorum.voters` needs no --standalone.
#[test]
fn kafka_3x_kraft_quickstart_runs_verbatim_through_the_scripts() {
    quickstart(
        "config/kraft/server.properties",
        "controller.quorum.voters=1@localhost:9093",
        &[],
    );
}

fn quickstart(shipped: &str, quorum_line: &str, format_flags: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let controller_port = free_port();
    let config = quickstart_config(dir.path(), shipped, quorum_line, port, controller_port);
    let config = config.to_str().unwrap();
    let server_address = format!("localhost:{port}");

    // Step 2: generate a cluster id, format the log directories.
    let id = text(&run("kafka-storage.sh", &["random-uuid"], "").stdout)
        .trim()
        .to_string();
    assert_eq!(id.len(), 22, "a base64 uuid: {id}");
    let mut format = vec!["format"];
    format.extend_from_slice(format_flags);
    format.extend_from_slice(&["-t", &id, "-c", config]);
    run("kafka-storage.sh", &format, "");
    assert!(dir
        .path()
        .join("kraft-combined-logs/meta.properties")
        .exists());

    // Start the server.
    let log = dir.path().join("server.log");
    let child = script("kafka-server-start.sh")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .spawn()
        .expect("kafka-server-start.sh");
    let mut server = Server { child, log };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !common::listening(port) {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the server exited with {status}: {}", server.log());
        }
        assert!(Instant::now() < deadline, "no listener: {}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }

    // Step 3: create a topic.
    let created = run(
        "kafka-topics.sh",
        &[
            "--create",
            "--topic",
            "quickstart-events",
            "--bootstrap-server",
            &server_address,
        ],
        "",
    );
    assert_eq!(
        text(&created.stdout).trim(),
        "Created topic quickstart-events."
    );

    // Step 4: write events.
    run(
        "kafka-console-producer.sh",
        &[
            "--topic",
            "quickstart-events",
            "--bootstrap-server",
            &server_address,
        ],
        "This is my first event\nThis is my second event\n",
    );

    // Step 5: read them.
    let read = run(
        "kafka-console-consumer.sh",
        &[
            "--topic",
            "quickstart-events",
            "--from-beginning",
            "--bootstrap-server",
            &server_address,
            "--max-messages",
            "2",
        ],
        "",
    );
    assert_eq!(
        text(&read.stdout),
        "This is my first event\nThis is my second event\n"
    );
    assert!(text(&read.stderr).contains("Processed a total of 2 messages"));

    // Step 8: stop the server (Ctrl-C in the tutorial; SIGTERM here).
    assert_eq!(server.stop(), Some(0), "{}", server.log());
}
