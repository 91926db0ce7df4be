//! The controller listener: one TCP port that carries both the quorum's Raft RPCs and
//! the brokers' requests to the controller.
//!
//! Framing is [`rpc::write_frame`]/[`rpc::read_frame`] (4-byte length, JSON). A
//! connection carries requests one at a time, each answered before the next is read;
//! a peer that wants concurrency opens more connections. A malformed frame closes that
//! connection only.
//!
//! The messages and the client that sends them are in [`rpc`], which the quorum's own
//! Raft client uses too: this module serves the quorum, so the quorum cannot depend on
//! it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::quorum::Quorum;
use crate::rpc::{self, BrokerRequest, BrokerResponse};
// Where brokers have always found them.
pub use crate::rpc::{ControllerClient, ControllerRequest, ControllerResponse};

/// Answers brokers' requests; implemented by the active controller logic, which this
/// crate's quorum knows nothing of.
pub trait BrokerRpcHandler: Send + Sync + 'static {
    fn handle(
        &self,
        req: BrokerRequest,
    ) -> Pin<Box<dyn Future<Output = BrokerResponse> + Send + '_>>;
}

/// Serves the controller listener until the returned future is dropped (abort its
/// task to stop it, and with it every connection it serves).
pub async fn serve(listener: TcpListener, quorum: Quorum, brokers: Arc<dyn BrokerRpcHandler>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let quorum = quorum.clone();
                    let brokers = brokers.clone();
                    connections.spawn(async move {
                        if let Err(e) = serve_connection(stream, &quorum, &*brokers).await {
                            tracing::debug!(%peer, error = %e, "controller connection closed");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "controller listener accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    quorum: &Quorum,
    brokers: &dyn BrokerRpcHandler,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    while let Some(request) = rpc::read_frame::<_, ControllerRequest>(&mut reader).await? {
        let response = match request {
            ControllerRequest::Raft(req) => {
                ControllerResponse::Raft(quorum.handle_raft(*req).await)
            }
            ControllerRequest::Broker(req) => ControllerResponse::Broker(brokers.handle(req).await),
        };
        rpc::write_frame(&mut writer, &response).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// Answers every broker request with an error naming the request kind.
    #[derive(Debug)]
    struct EchoKind;

    impl BrokerRpcHandler for EchoKind {
        fn handle(
            &self,
            req: BrokerRequest,
        ) -> Pin<Box<dyn Future<Output = BrokerResponse> + Send + '_>> {
            Box::pin(async move {
                let kind = format!("{req:?}");
                BrokerResponse::Error {
                    code: 0,
                    message: kind.split_whitespace().next().unwrap_or("").to_string(),
                }
            })
        }
    }

    #[tokio::test]
    async fn broker_requests_are_answered_in_order_and_bad_frames_close_only_their_connection() {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let quorum = Quorum::start(crate::quorum::QuorumConfig::new(
            0,
            [(0, addr.clone())].into(),
            dir.path().to_path_buf(),
        ))
        .await
        .unwrap();
        let server = tokio::spawn(serve(listener, quorum.clone(), Arc::new(EchoKind)));

        let mut client = ControllerClient::connect(&addr, Duration::from_secs(5))
            .await
            .unwrap();
        let mut bad = TcpStream::connect(&addr).await.unwrap();
        bad.write_all(&[0, 0, 0, 3, b'{', b'x', b'}'])
            .await
            .unwrap();
        let mut rest = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut bad, &mut rest)
            .await
            .unwrap();
        assert!(
            rest.is_empty(),
            "a malformed frame gets no answer, just a close"
        );

        for (req, kind) in [
            (
                BrokerRequest::DeleteTopic { name: "a".into() },
                "DeleteTopic",
            ),
            (
                BrokerRequest::SetBrokerConfigs {
                    node: None,
                    configs: Default::default(),
                },
                "SetBrokerConfigs",
            ),
        ] {
            let response = client.call(ControllerRequest::Broker(req)).await.unwrap();
            let ControllerResponse::Broker(BrokerResponse::Error { message, .. }) = response else {
                panic!("unexpected {response:?}");
            };
            assert_eq!(message, kind);
        }
        server.abort();
        quorum.shutdown().await;
    }
}
