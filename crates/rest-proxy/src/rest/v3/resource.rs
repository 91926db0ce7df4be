//! What every v3 answer is built from: the request's context (the proxy, the cluster as
//! Metadata shows it, the path's parameters, the base URL from `Host`) and Confluent's
//! resource shapes (`kind`, `metadata.self`, `metadata.resource_name`, `related` links,
//! lists with `data`).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::rest::admin::Cluster;
use crate::rest::errors::RestError;
use crate::rest::media::{self, JSON};
use crate::rest::state::SharedProxy;

/// One v3 request's context. Extracting it checks `Accept` (406) and that the path's
/// cluster is this one (404).
#[derive(Debug)]
pub struct Ctx {
    pub proxy: SharedProxy,
    pub cluster: Cluster,
    params: HashMap<String, String>,
    base_url: String,
}

impl FromRequestParts<SharedProxy> for Ctx {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, proxy: &SharedProxy) -> Result<Ctx, RestError> {
        if media::negotiate(&parts.headers, &[JSON]).is_none() {
            return Err(RestError::not_acceptable());
        }
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, proxy)
            .await
            .map_err(|_| RestError::not_found())?;
        // Metadata of the one topic the path names, else of all (only the topic list
        // needs them all).
        let topics = params.get("topic_name").map(|t| vec![t.clone()]);
        let cluster = proxy.admin.cluster(topics.as_deref()).await?;
        if let Some(id) = params.get("cluster_id") {
            if *id != cluster.cluster_id {
                return Err(RestError::http(
                    StatusCode::NOT_FOUND,
                    format!("Cluster {id} cannot be found."),
                ));
            }
        }
        Ok(Ctx {
            base_url: proxy.base_url(&parts.headers),
            proxy: proxy.clone(),
            cluster,
            params,
        })
    }
}

impl Ctx {
    /// A path parameter (the router guarantees the ones its route names).
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }

    /// A numeric path parameter: 404 when it is not a number, as no such resource exists.
    pub fn number(&self, name: &str) -> Result<i32, RestError> {
        self.param(name).parse().map_err(|_| RestError::not_found())
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster.cluster_id
    }

    /// The URL of `path` under this cluster (`path` starts with `/` or is empty).
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/v3/clusters/{}{}",
            self.base_url, self.cluster.cluster_id, path
        )
    }

    pub fn clusters_url(&self) -> String {
        format!("{}/v3/clusters", self.base_url)
    }

    /// `{"related": url-of-path}`.
    pub fn related(&self, path: &str) -> Value {
        json!({"related": self.url(path)})
    }

    /// A resource: `kind`, its `metadata` (self URL and Confluent resource name, `crn`
    /// segments after the cluster's), then `fields`.
    pub fn resource(&self, kind: &str, path: &str, crn: &str, fields: Value) -> Value {
        let mut object = Map::new();
        object.insert("kind".into(), json!(kind));
        object.insert(
            "metadata".into(),
            json!({
                "self": self.url(path),
                "resource_name": format!("crn:///kafka={}{}", self.cluster.cluster_id, crn),
            }),
        );
        if let Value::Object(fields) = fields {
            object.extend(fields);
        }
        Value::Object(object)
    }

    /// A list: `kind`, `metadata.self` (and `next`: everything fits one page), `data`.
    pub fn list(&self, kind: &str, path: &str, data: Vec<Value>) -> Value {
        json!({
            "kind": kind,
            "metadata": {"self": self.url(path), "next": null},
            "data": data,
        })
    }
}

/// The JSON body of a v3 request: 415 unless `application/json`.
pub fn body<T: serde::de::DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<T, RestError> {
    media::json_body(headers, body, media::V3_BODY_TYPES)
}
