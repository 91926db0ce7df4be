//! `GET /metrics` on `metrics.listener`: the HTTP side of `metrics`, reading the gauges
//! from the broker's state at each scrape.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::broker::Broker;
use crate::metrics::Gauges;

/// The gauges of `broker` now: local log sizes, under-replicated partitions it leads,
/// whether it is the active controller.
fn gauges(broker: &Broker) -> Gauges {
    let node_id = broker.config.node_id;
    let mut gauges = Gauges::default();
    for topic in broker.topics() {
        for partition in topic.local_partitions() {
            gauges
                .log_sizes
                .push((topic.name.clone(), partition.index, partition.size_bytes()));
            let led_short = topic.state(partition.index).is_some_and(|state| {
                state.leader == node_id && state.isr.len() < state.replicas.len()
            });
            gauges.under_replicated += u32::from(led_short);
        }
    }
    // Single-node mode: the broker is its own controller.
    gauges.active_controller = match &broker.cluster {
        None => true,
        Some(cluster) => {
            broker.config.has_role("controller") && cluster.controller_id() == Some(node_id)
        }
    };
    gauges
}

/// Binds `metrics.listener`, so that a taken port fails start-up like the Kafka ports.
pub async fn bind(broker: &Broker) -> std::io::Result<Option<TcpListener>> {
    let Some(listener) = &broker.config.metrics_listener else {
        return Ok(None);
    };
    let address = listener
        .bind_address()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    TcpListener::bind(address).await.map(Some).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot serve metrics on {address}: {e}"))
    })
}

/// Serves `GET /metrics` (anything else is 404) until `stop`.
pub async fn serve(broker: Arc<Broker>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let address: Option<SocketAddr> = listener.local_addr().ok();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let broker = broker.clone();
            async move {
                let body =
                    tokio::task::spawn_blocking(move || broker.metrics.render(&gauges(&broker)))
                        .await
                        .unwrap_or_default();
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    body,
                )
            }
        }),
    );
    tracing::info!("serving metrics on {address:?}");
    let shutdown = async move {
        let _ = stop.wait_for(|stopping| *stopping).await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!("metrics listener failed: {e}");
    }
}
