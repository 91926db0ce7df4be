//! Three controller voters on loopback TCP: election, replication, fail-over, and a
//! restarted voter catching up (by snapshot, since the log it missed was purged).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rafka_metadata::image::PartitionState;
use rafka_metadata::rpc::{BrokerRequest, BrokerResponse};
use rafka_metadata::server::serve;
use rafka_metadata::{BrokerRpcHandler, MetadataRecord, ProposeError, Quorum, QuorumConfig};
use rafka_protocol::ErrorCode;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

#[derive(Debug)]
struct NoopBrokerHandler;

impl BrokerRpcHandler for NoopBrokerHandler {
    fn handle(
        &self,
        _req: BrokerRequest,
    ) -> Pin<Box<dyn Future<Output = BrokerResponse> + Send + '_>> {
        Box::pin(async {
            BrokerResponse::Error {
                code: ErrorCode::UnknownServerError.code(),
                message: "no controller logic in this test".to_string(),
            }
        })
    }
}

struct Voter {
    quorum: Quorum,
    server: JoinHandle<()>,
}

impl Voter {
    async fn start(
        node_id: i32,
        voters: &BTreeMap<i32, String>,
        dir: PathBuf,
        listener: TcpListener,
    ) -> Voter {
        let mut config = QuorumConfig::new(node_id, voters.clone(), dir);
        config.election_timeout_min_ms = 400;
        config.election_timeout_max_ms = 800;
        config.heartbeat_interval_ms = 100;
        // Small, so that the log a stopped voter misses is purged and it must catch up
        // from a snapshot sent over the wire.
        config.snapshot_interval_entries = 4;
        let quorum = Quorum::start(config).await.unwrap();
        let server = tokio::spawn(serve(
            listener,
            quorum.clone(),
            Arc::new(NoopBrokerHandler),
            Arc::default(),
        ));
        Voter { quorum, server }
    }

    async fn kill(self) {
        self.server.abort();
        self.quorum.shutdown().await;
    }
}

/// Polls `condition` until it holds or `timeout` passes.
async fn eventually(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn create_topic(name: &str) -> Vec<MetadataRecord> {
    vec![MetadataRecord::CreateTopic {
        name: name.to_string(),
        topic_id: uuid::Uuid::new_v4(),
        configs: BTreeMap::new(),
        partitions: vec![
            PartitionState::new(vec![0, 1, 2]),
            PartitionState::new(vec![1, 2, 0]),
        ],
    }]
}

/// The one leader all `voters` agree on, if there is one.
fn agreed_leader(voters: &[&Voter]) -> Option<i32> {
    let leader = voters[0].quorum.leader()?;
    let agreed = voters.iter().all(|v| v.quorum.leader() == Some(leader));
    let leads = voters
        .iter()
        .any(|v| v.quorum.node_id() == leader && v.quorum.is_leader());
    (agreed && leads).then_some(leader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_voters_elect_replicate_fail_over_and_catch_up() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut listeners = Vec::new();
    let mut voters_map = BTreeMap::new();
    for id in 0..3 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        voters_map.insert(id, listener.local_addr().unwrap().to_string());
        listeners.push(listener);
    }
    let metadata_dir = |id: usize| dirs[id].path().join("__cluster_metadata-0");
    let mut voters: Vec<Option<Voter>> = Vec::new();
    for (id, listener) in listeners.into_iter().enumerate() {
        voters.push(Some(
            Voter::start(id as i32, &voters_map, metadata_dir(id), listener).await,
        ));
    }

    let live = |voters: &[Option<Voter>]| -> Vec<i32> {
        voters
            .iter()
            .flatten()
            .map(|v| v.quorum.node_id())
            .collect()
    };
    eventually(
        "a leader all three agree on",
        Duration::from_secs(10),
        || agreed_leader(&voters.iter().flatten().collect::<Vec<_>>()).is_some(),
    )
    .await;
    let leader = agreed_leader(&voters.iter().flatten().collect::<Vec<_>>()).unwrap();

    // A follower refuses proposals and names the leader.
    let follower = live(&voters).into_iter().find(|id| *id != leader).unwrap();
    let refused = voters[follower as usize]
        .as_ref()
        .unwrap()
        .quorum
        .propose(create_topic("x"))
        .await;
    assert_eq!(
        refused,
        Err(ProposeError::NotLeader {
            leader: Some(leader)
        })
    );

    let mut last_index = 0;
    for i in 0..3 {
        let quorum = &voters[leader as usize].as_ref().unwrap().quorum;
        let index = quorum
            .propose(create_topic(&format!("before-{i}")))
            .await
            .unwrap();
        assert!(
            index > last_index,
            "log indexes grow: {index} after {last_index}"
        );
        last_index = index;
        // Applied to the leader's own image before propose returns.
        let image = quorum.image().borrow().clone();
        assert_eq!(image.offset, index);
        assert!(image.topics.contains_key(&format!("before-{i}")));
    }
    eventually("all three images converge", Duration::from_secs(10), || {
        let images: Vec<_> = voters
            .iter()
            .flatten()
            .map(|v| v.quorum.image().borrow().clone())
            .collect();
        images
            .iter()
            .all(|image| image.offset == last_index && **image == *images[0])
    })
    .await;

    // Kill the leader; the other two elect a new one and take proposals.
    let old_leader = leader;
    let killed = voters[old_leader as usize].take().unwrap();
    let killed_quorum = killed.quorum.clone();
    killed.kill().await;
    assert_eq!(
        killed_quorum.leader(),
        None,
        "a stopped voter knows no leader"
    );
    assert!(matches!(
        killed_quorum.propose(create_topic("too-late")).await,
        Err(ProposeError::Other(_))
    ));
    drop(killed_quorum);
    let killed_at = Instant::now();
    eventually(
        "a new leader after the old one died",
        Duration::from_secs(10),
        || {
            agreed_leader(&voters.iter().flatten().collect::<Vec<_>>())
                .is_some_and(|l| l != old_leader)
        },
    )
    .await;
    let leader = agreed_leader(&voters.iter().flatten().collect::<Vec<_>>()).unwrap();
    eprintln!(
        "new leader {leader} elected {:?} after killing {old_leader}",
        killed_at.elapsed()
    );
    for i in 0..10 {
        let quorum = &voters[leader as usize].as_ref().unwrap().quorum;
        last_index = quorum
            .propose(create_topic(&format!("after-{i}")))
            .await
            .unwrap();
    }

    // Restart the old leader from its directory; it catches up.
    let listener = TcpListener::bind(&voters_map[&old_leader]).await.unwrap();
    voters[old_leader as usize] = Some(
        Voter::start(
            old_leader,
            &voters_map,
            metadata_dir(old_leader as usize),
            listener,
        )
        .await,
    );
    eventually(
        "the restarted voter catches up",
        Duration::from_secs(15),
        || {
            let images: Vec<_> = voters
                .iter()
                .flatten()
                .map(|v| v.quorum.image().borrow().clone())
                .collect();
            images.len() == 3
                && images
                    .iter()
                    .all(|image| image.offset >= last_index && **image == *images[0])
        },
    )
    .await;
    let image = voters[old_leader as usize]
        .as_ref()
        .unwrap()
        .quorum
        .image()
        .borrow()
        .clone();
    assert_eq!(
        image.topics.len(),
        13,
        "{:?}",
        image.topics.keys().collect::<Vec<_>>()
    );
    assert!(
        metadata_dir(old_leader as usize)
            .join("snapshot.json")
            .exists(),
        "the restarted voter holds a snapshot"
    );

    for voter in voters.into_iter().flatten() {
        voter.kill().await;
    }
}
