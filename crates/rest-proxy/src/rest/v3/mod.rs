//! API v3 (placeholder while v2 is built).
use axum::Router;

use super::state::SharedProxy;

pub fn router() -> Router<SharedProxy> {
    Router::new()
}
