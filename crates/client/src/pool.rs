//! Reused connections to other brokers, for requests one broker sends another (the
//! transaction coordinator's WriteTxnMarkers, as Kafka's `TransactionMarkerChannelManager`
//! keeps a channel per broker): a call takes an idle connection to its address or opens
//! one, and gives it back only when the exchange completed, so a connection that failed
//! or timed out (its answer may still be on the way) is never used again. A reused
//! connection the peer has closed costs one retry on a new connection, so callers should
//! send only requests that may arrive twice (markers may: the retry rounds resend them).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::security::ClientSecurity;
use crate::wire::{connect_within_secured, ClientError, WireClient};

/// Idle connections kept per address: enough for the concurrent calls one peer usually
/// gets; more are opened when needed and closed after.
const MAX_IDLE_PER_ADDRESS: usize = 4;

#[derive(Debug, Default)]
pub struct WirePool {
    idle: Mutex<HashMap<String, Vec<WireClient>>>,
    /// How new connections authenticate (a broker's inter-broker SASL settings).
    security: ClientSecurity,
}

impl WirePool {
    pub fn new() -> WirePool {
        WirePool::default()
    }

    /// A pool whose connections authenticate as `security` says.
    pub fn with_security(security: ClientSecurity) -> WirePool {
        WirePool {
            idle: Mutex::default(),
            security,
        }
    }

    /// How the pool's connections secure themselves.
    pub fn security(&self) -> &ClientSecurity {
        &self.security
    }

    /// Sends `request` to `address` at the highest version both speak up to `version`,
    /// over an idle connection or a new one (connected within `connect_timeout`), and
    /// waits up to `timeout` for the answer.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &self,
        address: &str,
        api_key: ApiKey,
        version: i16,
        request: &Req,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Resp, ClientError> {
        if let Some(mut client) = self.take(address) {
            match Self::exchange(&mut client, api_key, version, request, timeout).await {
                Ok(answer) => {
                    self.give_back(address, client);
                    return Ok(answer);
                }
                // The peer closed it (restarted, or idle too long): so it did the others
                // most likely. Once more on a new connection.
                Err(ClientError::Io { .. }) => self.forget(address),
                Err(e) => return Err(e),
            }
        }
        let mut client = connect_within_secured(address, connect_timeout, &self.security).await?;
        let answer = Self::exchange(&mut client, api_key, version, request, timeout).await?;
        self.give_back(address, client);
        Ok(answer)
    }

    async fn exchange<Req: Encodable, Resp: Decodable>(
        client: &mut WireClient,
        api_key: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, ClientError> {
        let version = client.version_for(api_key, version)?;
        client.call_within(api_key, version, request, timeout).await
    }

    fn forget(&self, address: &str) {
        self.lock().remove(address);
    }

    /// How many idle connections to `address` the pool holds.
    pub fn idle_count(&self, address: &str) -> usize {
        self.lock().get(address).map_or(0, Vec::len)
    }

    fn take(&self, address: &str) -> Option<WireClient> {
        self.lock().get_mut(address).and_then(Vec::pop)
    }

    fn give_back(&self, address: &str, client: WireClient) {
        let mut idle = self.lock();
        let clients = idle.entry(address.to_string()).or_default();
        if clients.len() < MAX_IDLE_PER_ADDRESS {
            clients.push(client);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<WireClient>>> {
        // A panic while holding the lock cannot leave the map half-changed.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use bytes::{Buf, BytesMut};
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::messages::{
        ApiVersionsResponse, MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::watch;

    use super::*;

    /// A peer answering ApiVersions and Metadata, counting the connections it accepts and
    /// has closed; bumping `drop_all` closes every connection it has.
    struct Peer {
        address: String,
        accepted: Arc<AtomicUsize>,
        closed: Arc<AtomicUsize>,
        drop_all: watch::Sender<u32>,
    }

    async fn peer() -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let (drop_all, dropped) = watch::channel(0u32);
        let (counter, closed_counter) = (accepted.clone(), closed.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                let mut dropped = dropped.clone();
                dropped.mark_unchanged();
                let closed = closed_counter.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = serve(stream) => {}
                        _ = dropped.changed() => {}
                    }
                    closed.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Peer {
            address,
            accepted,
            closed,
            drop_all,
        }
    }

    async fn serve(mut stream: TcpStream) {
        loop {
            let mut size = [0u8; 4];
            if stream.read_exact(&mut size).await.is_err() {
                return;
            }
            let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
            stream.read_exact(&mut frame).await.unwrap();
            let mut frame = bytes::Bytes::from(frame);
            let api_key = ApiKey::try_from(i16::from_be_bytes([frame[0], frame[1]])).unwrap();
            let version = i16::from_be_bytes([frame[2], frame[3]]);
            let header =
                RequestHeader::decode(&mut frame, api_key.request_header_version(version)).unwrap();
            let mut body = BytesMut::new();
            ResponseHeader::default()
                .with_correlation_id(header.correlation_id)
                .encode(&mut body, api_key.response_header_version(version))
                .unwrap();
            match api_key {
                ApiKey::ApiVersions => ApiVersionsResponse::default()
                    .with_api_keys(vec![
                        ApiVersion::default()
                            .with_api_key(ApiKey::ApiVersions as i16)
                            .with_max_version(3),
                        ApiVersion::default()
                            .with_api_key(ApiKey::Metadata as i16)
                            .with_max_version(12),
                    ])
                    .encode(&mut body, version)
                    .unwrap(),
                _ => {
                    MetadataRequest::decode(&mut frame, version).unwrap();
                    assert_eq!(frame.remaining(), 0);
                    MetadataResponse::default()
                        .with_cluster_id(Some("pooled".into()))
                        .encode(&mut body, version)
                        .unwrap()
                }
            }
            let mut out = (body.len() as i32).to_be_bytes().to_vec();
            out.extend_from_slice(&body);
            stream.write_all(&out).await.unwrap();
        }
    }

    async fn metadata(pool: &WirePool, address: &str) -> Result<MetadataResponse, ClientError> {
        let timeout = Duration::from_secs(10);
        pool.call(
            address,
            ApiKey::Metadata,
            12,
            &MetadataRequest::default(),
            timeout,
            timeout,
        )
        .await
    }

    #[tokio::test]
    async fn calls_reuse_one_connection_and_reconnect_once_the_peer_closed_it() {
        let Peer {
            address,
            accepted,
            closed,
            drop_all,
        } = peer().await;
        let pool = WirePool::new();
        for _ in 0..3 {
            let answer = metadata(&pool, &address).await.unwrap();
            assert_eq!(answer.cluster_id.as_deref(), Some("pooled"));
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one connection for three calls"
        );
        assert_eq!(pool.idle_count(&address), 1);

        // The peer restarts: the idle connection is dead; the call still succeeds.
        drop_all.send_modify(|n| *n += 1);
        while closed.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let answer = metadata(&pool, &address).await.unwrap();
        assert_eq!(answer.cluster_id.as_deref(), Some("pooled"));
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        assert_eq!(pool.idle_count(&address), 1);
    }

    #[tokio::test]
    async fn concurrent_calls_open_connections_and_keep_a_bounded_few() {
        // The whole peer stays alive: dropping `drop_all` would close its connections.
        let peer = peer().await;
        let (address, accepted) = (peer.address.clone(), peer.accepted.clone());
        let pool = Arc::new(WirePool::new());
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (pool, address) = (pool.clone(), address.clone());
                tokio::spawn(async move { metadata(&pool, &address).await.map(|_| ()) })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert!(accepted.load(Ordering::SeqCst) >= 1);
        assert!(pool.idle_count(&address) <= MAX_IDLE_PER_ADDRESS);
        assert!(pool.idle_count(&address) >= 1);
    }
}
