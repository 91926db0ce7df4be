//! The network side: accept connections on every data listener, read frames, hand each
//! request to its handler and write the responses back in request order (Kafka's ordering
//! guarantee), several requests of a connection in flight at once, until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_util::future::Either;
use futures_util::stream::{FuturesOrdered, Stream, StreamExt};
use rafka_protocol::frame::FrameDecoder;
use rafka_protocol::request::{parse_request, RequestError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::authentication::{Authenticator, Verdict};
use crate::broker::Broker;
use crate::handlers::{self, Response};
use crate::listener_tls::ListenerTls;
use crate::metrics::{ConnectionGuard, RequestDone};
use crate::session::Session;
use kafka_protocol::messages::ApiKey;
use rafka_log::FileSlice;
use rafka_protocol::fetch_frame::Part;
use std::os::fd::AsFd;
use tokio_rustls::server::TlsStream;

/// A bound, not yet serving, set of listeners.
#[derive(Debug)]
pub struct Server {
    broker: Arc<Broker>,
    /// Each data listener's socket, with the listener's name and, for SSL and SASL_SSL
    /// listeners, its TLS side.
    listeners: Vec<(String, TcpListener, Option<Arc<ListenerTls>>)>,
    /// `metrics.listener`'s socket, when set.
    metrics: Option<TcpListener>,
}

impl Server {
    pub async fn bind(broker: Arc<Broker>) -> std::io::Result<Server> {
        let mut listeners = Vec::new();
        for listener in broker.config.data_listeners() {
            let address = listener
                .bind_address()
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let socket = TcpListener::bind(address).await.map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {listener} ({address}): {e}"),
                )
            })?;
            let tls = match broker.config.security.ssl(&listener.name) {
                Some(ssl) => Some(Arc::new(
                    ListenerTls::new(&listener.name, ssl)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
                )),
                None => None,
            };
            listeners.push((listener.name.clone(), socket, tls));
        }
        let metrics = crate::metrics_http::bind(&broker).await?;
        Ok(Server {
            broker,
            listeners,
            metrics,
        })
    }

    pub fn local_addresses(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(_, l, _)| l.local_addr().ok())
            .collect()
    }

    /// Where `/metrics` is served, if `metrics.listener` is set.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish (bounded) and
    /// shuts the broker down cleanly.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        if let Some(listener) = self.metrics {
            tasks.spawn(crate::metrics_http::serve(
                self.broker.clone(),
                listener,
                stop_rx.clone(),
            ));
        }
        for (name, listener, tls) in self.listeners {
            // The port is bound already (a conflict fails start-up at once); connections
            // wait in the backlog until a cluster node is ready to answer them.
            let broker = self.broker.clone();
            let mut stop = stop_rx.clone();
            tasks.spawn(async move {
                if let Some(cluster) = broker.cluster.clone() {
                    tokio::select! {
                        () = cluster.wait_until_ready() => {
                            tracing::info!("registered and caught up: serving clients");
                        }
                        _ = stop.wait_for(|stopping| *stopping) => return,
                    }
                }
                accept_loop(broker, &name, listener, tls, stop).await;
            });
        }
        tasks.spawn(background_loop(self.broker.clone(), stop_rx.clone()));
        if self.broker.cluster.is_some() {
            tasks.spawn(crate::node::run(self.broker.clone(), stop_rx.clone()));
        }
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(Duration::from_secs(10), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("connections still busy after 10 s; closing them");
            tasks.abort_all();
        }
        let broker = self.broker.clone();
        let _ = tokio::task::spawn_blocking(move || broker.shutdown()).await;
        tracing::info!("shut down cleanly");
    }
}

async fn accept_loop(
    broker: Arc<Broker>,
    name: &str,
    listener: TcpListener,
    tls: Option<Arc<ListenerTls>>,
    mut stop: watch::Receiver<bool>,
) {
    let open = broker.metrics.listener_connections(name);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let counted = ConnectionGuard::open(&open);
                    let mut session = Session::anonymous(peer, name);
                    let broker = broker.clone();
                    let tls = tls.clone();
                    let stop = stop.clone();
                    connections.spawn(async move {
                        // The handshake runs in the connection's own task: a slow or
                        // failing client holds up nobody else.
                        let connection = match tls {
                            None => Connection::Plain(stream),
                            Some(tls) => match tls.accept(stream, peer).await {
                                Some((stream, principal)) => {
                                    session.principal = principal;
                                    Connection::Tls(stream)
                                }
                                None => return,
                            },
                        };
                        serve_connection(broker, connection, session, stop).await;
                        drop(counted);
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    while connections.join_next().await.is_some() {}
}

/// How many requests of one connection are handled at once. Responses still go back
/// strictly in request order; the bound only lets a client that pipelines (librdkafka,
/// the Java producer's `max.in.flight.requests.per.connection`) keep its requests moving
/// while earlier ones wait for replication or a long poll.
const MAX_IN_FLIGHT_PER_CONNECTION: usize = 100;

type Handled = Result<Option<Response>, RequestError>;

/// A request's answer, with what the request metrics need of it.
struct Answer {
    /// The request frame's size, which bounds the connection's in-flight memory.
    size: usize,
    handled: Handled,
    done: RequestDone,
    received: Instant,
    /// Close the connection once this answer is written (a failed authentication).
    close: bool,
}

/// Serves one connection. Requests are read as they arrive and each is started at once,
/// in arrival order: a handler runs synchronously up to its first wait (a Produce has
/// appended by then, a group request has taken its step), so appends from one connection
/// to one partition, and group steps, keep their request order. Waits (the ISR, a fetch's
/// long poll, a rebalance, the controller) overlap; responses are written in request
/// order, as Kafka's clients require.
/// Ends, when dropped, the share sessions a client connection opened (Kafka's
/// ShareSessionCache listens for disconnects the same way).
struct ConnectionClosed {
    broker: Arc<Broker>,
    connection: u64,
}

impl Drop for ConnectionClosed {
    fn drop(&mut self) {
        self.broker.shares.connection_closed(self.connection);
    }
}

async fn serve_connection(
    broker: Arc<Broker>,
    mut stream: Connection,
    session: Session,
    mut stop: watch::Receiver<bool>,
) {
    let peer = session.peer;
    // Whatever way this returns, what lives only as long as the connection ends with it.
    let _closed = ConnectionClosed {
        broker: broker.clone(),
        connection: session.connection,
    };
    // A SASL listener's connections authenticate first; each request then runs with the
    // session as it was when the request arrived (a re-authentication replaces it).
    let mut authenticator = Authenticator::for_listener(&broker, &session.listener);
    let mut session = Arc::new(session);
    let max_bytes = broker.config.socket_request_max_bytes;
    let decoder = FrameDecoder::new(max_bytes);
    let mut buffer = BytesMut::with_capacity(64 * 1024);
    // Each in-flight request with its frame size, which bounds the memory held.
    let mut in_flight: FuturesOrdered<Queued<'_>> = FuturesOrdered::new();
    let mut in_flight_bytes = 0usize;
    let mut reading = true;
    loop {
        // Answer whatever is ready, oldest first, before reading on.
        while let Some(ready) = poll_ready(&mut in_flight) {
            in_flight_bytes -= ready.size;
            if !answer(&broker, &mut stream, peer, ready).await {
                return;
            }
        }
        if !reading && in_flight.is_empty() {
            return;
        }
        let room = reading
            && in_flight.len() < MAX_IN_FLIGHT_PER_CONNECTION
            && in_flight_bytes < max_bytes;
        let frame = if room {
            match decoder.decode(&mut buffer) {
                Ok(frame) => frame,
                Err(e) => {
                    // Kafka closes the connection; the requests before it are answered.
                    tracing::warn!("closing connection from {peer}: {e}");
                    reading = false;
                    continue;
                }
            }
        } else {
            None
        };
        let Some(frame) = frame else {
            tokio::select! {
                Some(ready) = in_flight.next(), if !in_flight.is_empty() => {
                    in_flight_bytes -= ready.size;
                    if !answer(&broker, &mut stream, peer, ready).await {
                        return;
                    }
                }
                read = stream.read_buf(&mut buffer), if room => match read {
                    Ok(0) => reading = false,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!("connection from {peer} failed: {e}");
                        return;
                    }
                },
                _ = stop.changed() => return,
            }
            continue;
        };
        let size = frame.len();
        let received = Instant::now();
        if let Some(authenticator) = authenticator.as_mut() {
            let (answer, close) = match authenticator.on_frame(&broker, &frame) {
                Verdict::Pass => (None, false),
                Verdict::Answer(bytes) => (Some(bytes), false),
                Verdict::Authenticated { answer, principal } => {
                    let mut next = (*session).clone();
                    next.principal = principal;
                    session = Arc::new(next);
                    (Some(answer), false)
                }
                Verdict::Close(answer) => (answer, true),
            };
            if answer.is_some() || close {
                if close {
                    reading = false;
                }
                let (api_key, version) = frame_api(&frame);
                in_flight_bytes += size;
                in_flight.push_back(Either::Left(std::future::ready(Answer {
                    size,
                    handled: Ok(answer.map(Response::Bytes)),
                    done: RequestDone {
                        api_key,
                        version,
                        fetch_from: None,
                    },
                    received,
                    close,
                })));
                continue;
            }
        }
        let request = match parse_request(frame) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!("closing connection from {peer}: {e}");
                reading = false;
                continue;
            }
        };
        in_flight_bytes += size;
        let broker = &broker;
        let session = session.clone();
        let mut done = RequestDone {
            api_key: request.api_key,
            version: request.api_version(),
            fetch_from: None,
        };
        let mut handling: InFlight<'_> = Box::pin(async move {
            let handled = handlers::handle(broker, request, &session, &mut done.fetch_from).await;
            Answer {
                size,
                handled,
                done,
                received,
                close: false,
            }
        });
        // Run the handler up to its first wait now, before the next request is read. A
        // future left pending is polled again by the queue (a pushed future always is),
        // which registers the real waker.
        let mut cx = Context::from_waker(Waker::noop());
        match handling.as_mut().poll(&mut cx) {
            // Most requests (metadata, acks=1 produce) end here: queue the answer itself.
            Poll::Ready(answered) => {
                in_flight.push_back(Either::Left(std::future::ready(answered)))
            }
            Poll::Pending => in_flight.push_back(Either::Right(handling)),
        }
    }
}

type InFlight<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// A request in the connection's queue: answered already, or still waiting.
type Queued<'a> = Either<std::future::Ready<Answer>, InFlight<'a>>;

/// The oldest request's answer if it is ready, without waiting.
fn poll_ready(in_flight: &mut FuturesOrdered<Queued<'_>>) -> Option<Answer> {
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(in_flight).poll_next(&mut cx) {
        Poll::Ready(item) => item,
        Poll::Pending => None,
    }
}

/// Writes one request's answer; false when the connection must close. The request's
/// time, as Kafka's `TotalTimeMs`, runs from its frame's arrival to its answer's send.
async fn answer(
    broker: &Broker,
    stream: &mut Connection,
    peer: SocketAddr,
    answer: Answer,
) -> bool {
    let Answer {
        handled,
        done,
        received,
        close,
        ..
    } = answer;
    let open = write_answer(stream, peer, handled).await;
    broker.metrics.record_request(done, received.elapsed());
    open && !close
}

/// The API key and version a frame's header names (SaslAuthenticate v0 for a raw SASL
/// token), for the request metrics of the authenticator's answers.
fn frame_api(frame: &[u8]) -> (ApiKey, i16) {
    let key = frame
        .get(..2)
        .and_then(|k| ApiKey::try_from(i16::from_be_bytes([k[0], k[1]])).ok());
    match (key, frame.get(2..4)) {
        (Some(key), Some(v)) => (key, i16::from_be_bytes([v[0], v[1]])),
        _ => (ApiKey::SaslAuthenticate, 0),
    }
}

async fn write_answer(stream: &mut Connection, peer: SocketAddr, handled: Handled) -> bool {
    match handled {
        Ok(Some(response)) => match write_response(stream, response).await {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!("cannot answer {peer}: {e}");
                false
            }
        },
        Ok(None) => true,
        Err(e) => {
            tracing::warn!("closing connection from {peer}: {e}");
            false
        }
    }
}

async fn write_response(stream: &mut Connection, response: Response) -> std::io::Result<()> {
    match response {
        Response::Bytes(bytes) => {
            stream.write_all(&bytes).await?;
            // TLS holds what it encrypted until flushed; plain TCP's flush is free.
            stream.flush().await
        }
        Response::Fetch { parts, records } => {
            for part in parts {
                match part {
                    Part::Bytes(bytes) => stream.write_all(&bytes).await?,
                    Part::Records(n) => {
                        let Some(read) = records.get(n) else {
                            return Err(std::io::Error::other("fetch frame names missing records"));
                        };
                        for slice in &read.slices {
                            match stream {
                                Connection::Plain(socket) => send_file(socket, slice).await?,
                                Connection::Tls(tls) => send_through_tls(tls, slice).await?,
                            }
                        }
                    }
                }
            }
            stream.flush().await
        }
    }
}

/// Copies a byte range of a segment file to the socket in the kernel (`sendfile`), never
/// through user space. A file shorter than the range (truncated under us) is an error:
/// the frame's size is already sent, so the connection must close.
async fn send_file(stream: &TcpStream, slice: &FileSlice) -> std::io::Result<()> {
    let mut offset = slice.position as i64;
    let mut left = slice.len as usize;
    while left > 0 {
        stream.writable().await?;
        let sent = stream.try_io(tokio::io::Interest::WRITABLE, || {
            nix::sys::sendfile::sendfile(
                stream.as_fd(),
                slice.file.as_fd(),
                Some(&mut offset),
                left,
            )
            .map_err(std::io::Error::from)
        });
        match sent {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{} ends before the records to send", slice.path.display()),
                ))
            }
            Ok(n) => left -= n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A fetch's records over TLS, where the kernel cannot copy file to socket: the range is
/// read into one buffer and written through the TLS stream, which encrypts it into its
/// own records (no other copy). A short file is an error, as for `send_file`.
async fn send_through_tls(
    stream: &mut TlsStream<TcpStream>,
    slice: &FileSlice,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buffer = vec![0u8; slice.len as usize];
    slice
        .file
        .read_exact_at(&mut buffer, slice.position)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "{}: cannot read the records to send: {e}",
                    slice.path.display()
                ),
            )
        })?;
    stream.write_all(&buffer).await
}

/// A client connection: plain TCP (PLAINTEXT, SASL_PLAINTEXT) or TLS (SSL, SASL_SSL).
type Connection = rafka_client::MaybeTls<TlsStream<TcpStream>>;

/// Retention and checkpoints, on Kafka's intervals.
/// `transaction.remove.expired.transaction.cleanup.interval.ms`: how often idle
/// transactional ids are looked for.
fn remove_expired_interval(broker: &Broker) -> Duration {
    let interval_ms = broker.config.transaction.remove_expired_interval_ms;
    Duration::from_millis(u64::try_from(interval_ms).unwrap_or(3_600_000).max(1))
}

async fn background_loop(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut retention = tokio::time::interval(Duration::from_millis(
        broker.config.log_retention_check_interval_ms.max(1),
    ));
    let mut checkpoint = tokio::time::interval(Duration::from_millis(
        broker
            .config
            .log_flush_offset_checkpoint_interval_ms
            .max(1000),
    ));
    let mut cleaner = tokio::time::interval(Duration::from_millis(
        broker.config.log_cleaner_backoff_ms.max(10),
    ));
    cleaner.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut producers = tokio::time::interval(Duration::from_millis(
        broker
            .config
            .producer_id_expiration_check_interval_ms
            .max(1),
    ));
    producers.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut txn_leaderships = tokio::time::interval(Duration::from_secs(1));
    txn_leaderships.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut txn_timeouts = tokio::time::interval(Duration::from_millis(
        u64::try_from(broker.config.transaction.abort_timed_out_interval_ms).unwrap_or(10_000),
    ));
    txn_timeouts.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut txn_expiry = tokio::time::interval_at(
        tokio::time::Instant::now() + remove_expired_interval(&broker),
        remove_expired_interval(&broker),
    );
    txn_expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // share.coordinator.state.topic.prune.interval.ms
    let prune_every = Duration::from_millis(
        u64::try_from(broker.config.share_coordinator.prune_interval_ms).unwrap_or(300_000),
    );
    let mut share_state_prune =
        tokio::time::interval_at(tokio::time::Instant::now() + prune_every, prune_every);
    share_state_prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut groups = tokio::time::interval(Duration::from_millis(100));
    groups.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let offsets_expiry = Duration::from_millis(broker.config.offsets_retention_check_interval_ms);
    let mut last_expiry = tokio::time::Instant::now();
    retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    checkpoint.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = retention.tick() => {
                let broker = broker.clone();
                let _ = tokio::task::spawn_blocking(move || broker.enforce_retention()).await;
            }
            _ = checkpoint.tick() => {
                let broker = broker.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    broker.flush_rolled_segments();
                    if let Err(e) = broker.write_checkpoints() {
                        tracing::error!("cannot write offset checkpoints: {e}");
                    }
                }).await;
            }
            _ = txn_leaderships.tick() => {
                let env = crate::txn_env::BrokerTxnEnv::shared(&broker);
                broker.txns.follow_leaderships(&env);
                let env = crate::txn_env::BrokerTxnEnv::new(&broker);
                broker.share_states.follow_leaderships(&env);
            }
            _ = txn_timeouts.tick() => {
                let env = crate::txn_env::BrokerTxnEnv::shared(&broker);
                let txns = broker.txns.clone();
                tokio::spawn(async move { txns.abort_timed_out(&env).await });
            }
            _ = txn_expiry.tick() => {
                let env = crate::txn_env::BrokerTxnEnv::shared(&broker);
                let txns = broker.txns.clone();
                tokio::spawn(async move { txns.remove_expired(&env).await });
            }
            _ = share_state_prune.tick() => {
                let pruning = broker.clone();
                tokio::spawn(async move {
                    let env = crate::txn_env::BrokerTxnEnv::new(&pruning);
                    pruning.share_states.prune(&env).await;
                });
            }
            _ = producers.tick() => {
                let broker = broker.clone();
                let _ = tokio::task::spawn_blocking(move || broker.expire_producers()).await;
            }
            _ = cleaner.tick(), if broker.config.log_cleaner_enable => {
                let broker = broker.clone();
                let _ = tokio::task::spawn_blocking(move || broker.clean_logs()).await;
            }
            _ = groups.tick() => {
                let expire = last_expiry.elapsed() >= offsets_expiry;
                if expire {
                    last_expiry = tokio::time::Instant::now();
                }
                let ticking = broker.clone();
                let writes = tokio::task::spawn_blocking(move || {
                    let now_ms = ticking.clock.now_ms();
                    let topics = || ticking.replicas.topic_infos();
                    ticking.groups.tick(&ticking.replicas, &topics, now_ms, expire)
                })
                .await
                .unwrap_or_default();
                // Expiries and timeouts: no client waits on these writes; a failed one is
                // logged by the group coordinator and tried again by a later step.
                if !writes.is_empty() {
                    tokio::spawn(async move {
                        for write in writes {
                            let _ = write.completed().await;
                        }
                    });
                }
                // Share groups: members out of session leave, their records go back.
                let now_ms = broker.clock.now_ms();
                let topics = broker.replicas.topic_infos();
                let (expired, writes) =
                    broker
                        .share_groups
                        .tick(&broker.groups, &broker.replicas, &topics, now_ms);
                for expired in expired {
                    for member_id in &expired.member_ids {
                        broker.shares.member_left(&expired.group_id, member_id);
                    }
                }
                if !writes.is_empty() {
                    tokio::spawn(async move {
                        for write in writes {
                            let _ = write.completed().await;
                        }
                    });
                }
                // What releases and expired locks changed is written in the background.
                let flushing = broker.clone();
                tokio::spawn(async move {
                    let persister = crate::share_persister::BrokerPersister::new(&flushing);
                    flushing.shares.flush(&persister).await;
                });
            }
            _ = stop.changed() => return,
        }
    }
}
