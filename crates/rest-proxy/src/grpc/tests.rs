//! The service in process against a real rafka broker: the release binary (`RAFKA_BIN`,
//! else `$CARGO_TARGET_DIR/release/rafka`, built by `cargo build --release -p rafka-cli`)
//! on a free loopback port with its own data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../../../cli/tests/support/listening.rs"]
mod listening;
use listening::listening;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::pb::admin_client::AdminClient;
use super::pb::rafka_client::RafkaClient;
use super::pb::{
    CreateTopicRequest, ListTopicsRequest, OffsetReset, ProduceRequest, Record, SubscribeRequest,
};
use super::service::Service;
use super::subscribe::Subscriptions;
use super::{clients, run};
use crate::config::ProxyConfig;

struct Broker {
    port: u16,
    _dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rafka_bin() -> PathBuf {
    if let Ok(explicit) = std::env::var("RAFKA_BIN") {
        return PathBuf::from(explicit);
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/rafka/target",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let path = PathBuf::from(target).join("release/rafka");
    assert!(
        path.exists(),
        "rafka binary not found at {}: run `cargo build --release -p rafka-cli` or set RAFKA_BIN",
        path.display()
    );
    path
}

impl Broker {
    fn start() -> Broker {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = format!(
            "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={}\n",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("server.properties"), config).expect("write config");
        let child = Command::new(rafka_bin())
            .args(["server", "start"])
            .arg(dir.path().join("server.properties"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rafka");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !listening(port) {
            assert!(
                Instant::now() < deadline,
                "the broker did not listen in 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Broker {
            port,
            _dir: dir,
            child,
        }
    }
}

/// Polls `check` every 20 ms until it holds, failing after `timeout`.
async fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

type Server = tokio::task::JoinHandle<Result<(), super::GrpcError>>;

/// The service in this process for a cluster at `127.0.0.1:port`, on a free port.
async fn start_service(port: u16) -> (Arc<Subscriptions>, SocketAddr, oneshot::Sender<()>, Server) {
    let config = ProxyConfig::from_props(
        [("bootstrap.servers".to_string(), format!("127.0.0.1:{port}"))].into(),
    )
    .expect("config");
    let subscriptions = Arc::new(Subscriptions::default());
    let service = Service {
        clients: Arc::new(clients::Clients::new(&config).expect("clients")),
        subscriptions: subscriptions.clone(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address: SocketAddr = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(run(service, listener, async {
        let _ = stopped.await;
    }));
    (subscriptions, address, stop, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_unavailable() {
    let nobody = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let (_, address, stop, server) = start_service(nobody).await;
    let endpoint = format!("http://{address}");
    let mut admin = AdminClient::connect(endpoint.clone())
        .await
        .expect("connect");
    let mut rafka = RafkaClient::connect(endpoint).await.expect("connect");
    let listed = admin
        .list_topics(ListTopicsRequest::default())
        .await
        .expect_err("no cluster to list");
    assert_eq!(listed.code(), tonic::Code::Unavailable, "{listed}");
    assert!(listed.message().starts_with("list topics: "), "{listed}");
    let produced = rafka
        .produce(ProduceRequest {
            topic: "t".into(),
            records: vec![Record::default()],
        })
        .await
        .expect_err("no cluster to produce to");
    assert_eq!(produced.code(), tonic::Code::Unavailable, "{produced}");
    let _ = stop.send(());
    server.await.expect("server task").expect("server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscriber_pauses_the_consumer_instead_of_buffering() {
    const RECORDS: usize = 2000;
    let broker = Broker::start();
    let (subscriptions, address, stop, server) = start_service(broker.port).await;
    let endpoint = format!("http://{address}");
    let mut admin = AdminClient::connect(endpoint.clone())
        .await
        .expect("connect");
    // HTTP/2's default windows (hyper's: 2 MiB a stream) would hold every record of the
    // test in flight; with 64 KiB ones a client that stops reading is felt at once.
    let channel = tonic::transport::Endpoint::from_shared(endpoint)
        .expect("endpoint")
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect()
        .await
        .expect("connect");
    let mut rafka = RafkaClient::new(channel);

    // The broker may still be starting: retry the creation until it answers.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let created = admin
            .create_topic(CreateTopicRequest {
                name: "slow".into(),
                partitions: Some(1),
                ..Default::default()
            })
            .await;
        match created {
            Ok(_) => break,
            Err(status) => assert!(Instant::now() < deadline, "create topic: {status}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let records = (0..RECORDS)
        .map(|i| Record {
            value: Some(vec![b'x'; 1024]),
            key: Some(i.to_string().into_bytes()),
            ..Default::default()
        })
        .collect();
    let produced = rafka
        .produce(ProduceRequest {
            topic: "slow".into(),
            records,
        })
        .await
        .expect("produce")
        .into_inner();
    assert_eq!(produced.failed, 0);
    assert_eq!(produced.acks.len(), RECORDS);

    let mut stream = rafka
        .subscribe(SubscribeRequest {
            group: "slow".into(),
            topics: vec!["slow".into()],
            offset_reset: OffsetReset::Earliest as i32,
            max_records: 10,
            max_buffered: 2,
            max_bytes: 0,
        })
        .await
        .expect("subscribe")
        .into_inner();
    let first = stream.message().await.expect("first").expect("a message");
    let progress = subscriptions
        .progress(&first.subscription_id)
        .expect("the subscription is registered");
    let mut received = Vec::new();
    while received.is_empty() {
        let message = stream.message().await.expect("records").expect("a message");
        received.extend(message.records);
    }

    // The client stops reading: the thread fills the channel and HTTP/2's window, then
    // pauses the partition rather than taking everything from the consumer.
    wait_for("the partition to pause", Duration::from_secs(20), || {
        progress.paused.load(Ordering::Relaxed)
    })
    .await;
    let polled_when_paused = progress.polled.load(Ordering::Relaxed);
    assert!(
        polled_when_paused < RECORDS as u64 / 4,
        "{polled_when_paused} of {RECORDS} records taken from the consumer by a subscription \
         whose client reads nothing"
    );

    // Reading again resumes it, with nothing lost or repeated.
    while received.len() < RECORDS {
        let message = stream.message().await.expect("records").expect("a message");
        received.extend(message.records);
    }
    let offsets: Vec<i64> = received.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (0..RECORDS as i64).collect::<Vec<_>>());
    assert!(!progress.paused.load(Ordering::Relaxed));

    drop(stream);
    let _ = stop.send(());
    server.await.expect("server task").expect("server");
    wait_for("the subscription to end", Duration::from_secs(20), || {
        subscriptions.progress(&first.subscription_id).is_none()
    })
    .await;
}
