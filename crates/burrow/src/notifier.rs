//! Burrow's HTTP notifier (`core/internal/notifier/http.go`): every `interval`, each
//! group whose status is at or above `threshold` gets its `url-open` request with the
//! open template; once it falls below, `url-close` with the close template when
//! `send-close` is set.
//!
//! Templates are Go text/template files in Burrow. This renders the subset its shipped
//! templates use: `{{.Cluster}}`, `{{.Group}}`, `{{.Id}}`, `{{.Result.Status}}`,
//! `{{.Result.TotalLag}}`, `{{.Result.Complete}}`, `{{.Result.PartitionCount}}`,
//! `{{index .Extras "key"}}`, and `{{X | jsonencoder}}` for `.Result`,
//! `.Result.Partitions` and `.Result.Maxlag`. Any other action is refused at start-up,
//! naming it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, Request};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::config::NotifierConfig;
use crate::evaluator::GroupStatus;
use crate::monitor::Monitor;

/// A template that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template {path}: unsupported action {{{{{action}}}}}")]
    Unsupported { path: String, action: String },
    #[error("template {path}: unclosed {{{{")]
    Unclosed { path: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Cluster,
    Group,
    Id,
    Status,
    TotalLag,
    Complete,
    PartitionCount,
    Extra(String),
    JsonResult,
    JsonPartitions,
    JsonMaxlag,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(path: &str, text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            parts.push(Part::Text(rest[..start].to_owned()));
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
                path: path.to_owned(),
            })?;
            let action = after[..end]
                .trim()
                .trim_start_matches('-')
                .trim_end_matches('-')
                .trim();
            parts.push(
                parse_action(action).ok_or_else(|| TemplateError::Unsupported {
                    path: path.to_owned(),
                    action: action.to_owned(),
                })?,
            );
            rest = &after[end + 2..];
        }
        parts.push(Part::Text(rest.to_owned()));
        Ok(Self { parts })
    }

    /// The JSON body Burrow's default templates produce, for a notifier without one.
    fn default_body() -> Self {
        Self::parse(
            "default",
            r#"{"cluster":"{{.Cluster}}","group":"{{.Group}}","id":"{{.Id}}","status":"{{.Result.Status}}","totallag":{{.Result.TotalLag}},"result":{{.Result | jsonencoder}}}"#,
        )
        .unwrap_or(Self { parts: Vec::new() })
    }

    pub fn render(
        &self,
        id: &str,
        status: &GroupStatus,
        extras: &std::collections::BTreeMap<String, String>,
    ) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Cluster => out.push_str(&status.cluster),
                Part::Group => out.push_str(&status.group),
                Part::Id => out.push_str(id),
                Part::Status => out.push_str(status.status.name()),
                Part::TotalLag => out.push_str(&status.totallag.to_string()),
                Part::Complete => out.push_str(&status.complete.to_string()),
                Part::PartitionCount => out.push_str(&status.partition_count.to_string()),
                Part::Extra(key) => out.push_str(extras.get(key).map_or("", String::as_str)),
                Part::JsonResult => out.push_str(&json!(status).to_string()),
                Part::JsonPartitions => out.push_str(&json!(status.partitions).to_string()),
                Part::JsonMaxlag => out.push_str(&json!(status.maxlag).to_string()),
            }
        }
        out
    }
}

fn parse_action(action: &str) -> Option<Part> {
    let words: Vec<&str> = action.split_whitespace().collect();
    Some(match words.as_slice() {
        [".Cluster"] => Part::Cluster,
        [".Group"] => Part::Group,
        [".Id"] => Part::Id,
        [".Result.Status"] => Part::Status,
        [".Result.TotalLag"] => Part::TotalLag,
        [".Result.Complete"] => Part::Complete,
        [".Result.TotalPartitions"] | [".Result.PartitionCount"] => Part::PartitionCount,
        ["index", ".Extras", key] => Part::Extra(key.trim_matches('"').to_owned()),
        [".Result", "|", "jsonencoder"] => Part::JsonResult,
        [".Result.Partitions", "|", "jsonencoder"] => Part::JsonPartitions,
        [".Result.Maxlag", "|", "jsonencoder"] => Part::JsonMaxlag,
        _ => return None,
    })
}

fn load(path: Option<&str>) -> Result<Template, TemplateError> {
    match path {
        None => Ok(Template::default_body()),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
                path: path.to_owned(),
                source,
            })?;
            Template::parse(path, &text)
        }
    }
}

/// One `[notifier.NAME]`, ready to run.
#[derive(Debug)]
pub struct HttpNotifier {
    config: NotifierConfig,
    open: Template,
    close: Template,
}

/// An open incident: its id and when it was last sent.
struct Incident {
    id: String,
    last_sent: Instant,
}

static INCIDENTS: AtomicU64 = AtomicU64::new(0);

impl HttpNotifier {
    pub fn new(config: NotifierConfig) -> Result<Self, TemplateError> {
        Ok(Self {
            open: load(config.template_open.as_deref())?,
            close: load(config.template_close.as_deref())?,
            config,
        })
    }

    fn accepts(&self, group: &str) -> bool {
        self.config
            .group_allowlist
            .as_ref()
            .is_none_or(|a| a.is_match(group))
            && !self
                .config
                .group_denylist
                .as_ref()
                .is_some_and(|d| d.is_match(group))
    }

    /// Evaluates every group every `interval` and sends what crossed the threshold.
    pub async fn run(self, monitor: Arc<Monitor>) {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let interval = Duration::from_secs(self.config.interval_seconds.max(1));
        let mut open: HashMap<(String, String), Incident> = HashMap::new();
        let mut ticker = tokio::time::interval(Duration::from_secs(1).min(interval));
        loop {
            ticker.tick().await;
            for cluster in monitor.storage.clusters() {
                for group in monitor.storage.consumers(&cluster).unwrap_or_default() {
                    if !self.accepts(&group) {
                        continue;
                    }
                    let key = (cluster.clone(), group.clone());
                    let Some(status) = monitor.group_status(&cluster, &group) else {
                        continue;
                    };
                    if status.status >= self.config.threshold {
                        let due = open
                            .get(&key)
                            .is_none_or(|i| i.last_sent.elapsed() >= interval);
                        if due {
                            let id = open.get(&key).map_or_else(new_id, |i| i.id.clone());
                            let body = self.open.render(&id, &status, &self.config.extras);
                            self.send(
                                &client,
                                &self.config.method_open,
                                &self.config.url_open,
                                body,
                            )
                            .await;
                            open.insert(
                                key,
                                Incident {
                                    id,
                                    last_sent: Instant::now(),
                                },
                            );
                        }
                    } else if let Some(incident) = open.remove(&key) {
                        if self.config.send_close && !self.config.url_close.is_empty() {
                            let body =
                                self.close
                                    .render(&incident.id, &status, &self.config.extras);
                            self.send(
                                &client,
                                &self.config.method_close,
                                &self.config.url_close,
                                body,
                            )
                            .await;
                        }
                    }
                }
            }
        }
    }

    async fn send(
        &self,
        client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
        method: &str,
        url: &str,
        body: String,
    ) {
        let Ok(method) = Method::from_bytes(method.as_bytes()) else {
            tracing::warn!(notifier = %self.config.name, "invalid method {method}");
            return;
        };
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header("Content-Type", "application/json");
        for (name, value) in &self.config.headers {
            request = request.header(name, value);
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(request) => request,
            Err(err) => {
                tracing::warn!(notifier = %self.config.name, url, "cannot build the request: {err}");
                return;
            }
        };
        match client.request(request).await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::warn!(notifier = %self.config.name, url, status = %response.status(), "notification refused")
            }
            Err(err) => {
                tracing::warn!(notifier = %self.config.name, url, "cannot send the notification: {err}")
            }
        }
    }
}

fn new_id() -> String {
    let n = INCIDENTS.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}-{n:08x}", crate::kafka::now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::Status;

    #[test]
    fn burrow_template_actions_render() {
        let template = Template::parse(
            "t",
            r#"{"app":"{{index .Extras "app"}}","group":"{{.Group}}","cluster":"{{ .Cluster }}","status":"{{.Result.Status}}","lag":{{.Result.TotalLag}},"partitions":{{.Result.Partitions | jsonencoder}}}"#,
        )
        .unwrap();
        let status = GroupStatus {
            cluster: "local".into(),
            group: "g".into(),
            status: Status::Err,
            complete: 1.0,
            partitions: vec![],
            partition_count: 0,
            maxlag: None,
            totallag: 12,
        };
        let extras = [("app".to_owned(), "shop".to_owned())]
            .into_iter()
            .collect();
        let body: serde_json::Value =
            serde_json::from_str(&template.render("id", &status, &extras)).unwrap();
        assert_eq!(
            body,
            json!({"app": "shop", "group": "g", "cluster": "local", "status": "ERR", "lag": 12, "partitions": []})
        );
    }

    #[test]
    fn unsupported_actions_are_named() {
        let err = Template::parse("open.tmpl", "{{range .Result.Partitions}}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "template open.tmpl: unsupported action {{range .Result.Partitions}}"
        );
    }
}
