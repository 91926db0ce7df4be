//! Burrow's HTTP notifier (`core/internal/notifier/http.go`): every `interval`, each
//! group whose status is at or above `threshold` gets its `url-open` request with the
//! open template; once it falls below, `url-close` with the close template when
//! `send-close` is set.
//!
//! Bodies and URLs are Go text/templates (`crate::template`) over the data Burrow gives
//! them (`template_data`); one that does not parse stops the start-up, naming the file.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, Request};
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::config::NotifierConfig;
use crate::evaluator::{GroupStatus, PartitionStatus};
use crate::monitor::Monitor;
use crate::storage::ConsumerOffset;
use crate::template::{self, Template, Value};

/// A template that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template {path}: {source}")]
    Parse {
        path: String,
        source: template::ParseError,
    },
}

/// The JSON body sent by a notifier without `template-open`/`template-close`.
const DEFAULT_BODY: &str = r#"{"cluster":"{{.Cluster}}","group":"{{.Group}}","id":"{{.ID}}","status":"{{.Result.Status}}","totallag":{{.Result.TotalLag}},"result":{{.Result | jsonencoder}}}"#;

fn load(path: Option<&str>) -> Result<Template, TemplateError> {
    let (path, text) = match path {
        None => ("default", DEFAULT_BODY.to_string()),
        Some(path) => (
            path,
            std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
                path: path.to_owned(),
                source,
            })?,
        ),
    };
    Template::parse(&text).map_err(|source| TemplateError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// What a template sees (Burrow's `executeTemplate`): `.Cluster`, `.Group`, `.ID`,
/// `.Start` (when the incident began), `.Extras` and `.Result`, the group's evaluation
/// with Go's field names. `.Id` is accepted too: Burrow's own
/// `default-http-delete.tmpl` writes it.
pub fn template_data(
    id: &str,
    start: DateTime<Utc>,
    status: &GroupStatus,
    extras: &BTreeMap<String, String>,
) -> Value {
    let mut fields = vec![
        ("Cluster", Value::Str(status.cluster.clone())),
        ("Group", Value::Str(status.group.clone())),
        ("ID", Value::Str(id.to_owned())),
        ("Id", Value::Str(id.to_owned())),
        ("Start", Value::Time(start)),
        (
            "Extras",
            Value::Map(
                extras
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                    .collect(),
            ),
        ),
    ];
    let result = Value::structure(
        vec![
            ("Cluster", Value::Str(status.cluster.clone())),
            ("Group", Value::Str(status.group.clone())),
            ("Status", Value::Status(status.status)),
            ("Complete", Value::F32(status.complete)),
            (
                "Partitions",
                Value::List(status.partitions.iter().map(partition_value).collect()),
            ),
            ("TotalPartitions", int(status.partition_count)),
            (
                "Maxlag",
                status.maxlag.as_ref().map_or(Value::Nil, partition_value),
            ),
            ("TotalLag", int(status.totallag)),
        ],
        json!(status),
    );
    fields.push(("Result", result));
    Value::structure(fields, serde_json::Value::Null)
}

fn int(n: impl TryInto<i64>) -> Value {
    Value::Int(n.try_into().unwrap_or(i64::MAX))
}

fn partition_value(p: &PartitionStatus) -> Value {
    let offset = |o: &Option<ConsumerOffset>| match o {
        None => Value::Nil,
        Some(o) => Value::structure(
            vec![
                ("Offset", Value::Int(o.offset)),
                ("Timestamp", Value::Int(o.timestamp)),
                ("ObservedTimestamp", Value::Int(o.observed_at)),
                ("Lag", int(o.lag)),
            ],
            json!(o),
        ),
    };
    Value::structure(
        vec![
            ("Topic", Value::Str(p.topic.clone())),
            ("Partition", Value::Int(i64::from(p.partition))),
            ("Owner", Value::Str(p.owner.clone())),
            ("ClientID", Value::Str(p.client_id.clone())),
            ("Status", Value::Status(p.status)),
            ("Start", offset(&p.start)),
            ("End", offset(&p.end)),
            ("CurrentLag", int(p.current_lag)),
            ("Complete", Value::F32(p.complete)),
        ],
        json!(p),
    )
}

/// One `[notifier.NAME]`, ready to run.
#[derive(Debug)]
pub struct HttpNotifier {
    config: NotifierConfig,
    open: Template,
    close: Template,
    url_open: Template,
    url_close: Template,
}

/// An open incident: its id, when it began and when it was last sent.
struct Incident {
    id: String,
    start: DateTime<Utc>,
    last_sent: Instant,
}

impl HttpNotifier {
    pub fn new(config: NotifierConfig) -> Result<Self, TemplateError> {
        let url = |key: &str, url: &str| {
            Template::parse(url).map_err(|source| TemplateError::Parse {
                path: format!("{key} of [notifier.{}]", config.name),
                source,
            })
        };
        Ok(Self {
            open: load(config.template_open.as_deref())?,
            close: load(config.template_close.as_deref())?,
            url_open: url("url-open", &config.url_open)?,
            url_close: url("url-close", &config.url_close)?,
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
                            let (id, start) = open.get(&key).map_or_else(
                                || (uuid::Uuid::new_v4().to_string(), Utc::now()),
                                |i| (i.id.clone(), i.start),
                            );
                            let data = template_data(&id, start, &status, &self.config.extras);
                            let method = &self.config.method_open;
                            self.notify(&client, method, &self.url_open, &self.open, &data)
                                .await;
                            open.insert(
                                key,
                                Incident {
                                    id,
                                    start,
                                    last_sent: Instant::now(),
                                },
                            );
                        }
                    } else if let Some(incident) = open.remove(&key) {
                        if self.config.send_close && !self.config.url_close.is_empty() {
                            let data = template_data(
                                &incident.id,
                                incident.start,
                                &status,
                                &self.config.extras,
                            );
                            let method = &self.config.method_close;
                            self.notify(&client, method, &self.url_close, &self.close, &data)
                                .await;
                        }
                    }
                }
            }
        }
    }

    /// Renders the URL and body for `data` and sends them; a template that fails on
    /// this data is logged (as Burrow's "failed to assemble message") and nothing sent.
    async fn notify(
        &self,
        client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
        method: &str,
        url: &Template,
        body: &Template,
        data: &Value,
    ) {
        match (url.render(data), body.render(data)) {
            (Ok(url), Ok(body)) => self.send(client, method, &url, body).await,
            (Err(err), _) | (_, Err(err)) => {
                tracing::warn!(notifier = %self.config.name, "failed to assemble message: {err}")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::Status;
    use chrono::TimeZone;

    fn lagging_group() -> GroupStatus {
        let partition = |topic: &str, partition: i32, status: Status, lag: u64| PartitionStatus {
            topic: topic.into(),
            partition,
            owner: "/10.0.0.1".into(),
            client_id: "app-1".into(),
            status,
            start: Some(ConsumerOffset {
                offset: 10,
                timestamp: 1_700_000_000_000,
                observed_at: 1_700_000_000_100,
                lag: 5,
            }),
            end: Some(ConsumerOffset {
                offset: 12,
                timestamp: 1_700_000_060_000,
                observed_at: 1_700_000_060_100,
                lag,
            }),
            current_lag: lag,
            complete: 1.0,
        };
        let orders = partition("orders", 0, Status::Stop, 40);
        GroupStatus {
            cluster: "local".into(),
            group: "billing".into(),
            status: Status::Err,
            complete: 0.5,
            partitions: vec![orders.clone(), partition("audit", 1, Status::Warn, 2)],
            partition_count: 4,
            maxlag: Some(orders),
            totallag: 42,
        }
    }

    fn data() -> Value {
        let extras = [
            ("api_key".to_owned(), "k1".to_owned()),
            ("app".to_owned(), "shop".to_owned()),
            ("tier".to_owned(), "1".to_owned()),
        ]
        .into_iter()
        .collect();
        let start = Utc.with_ymd_and_hms(2026, 12, 5, 13, 4, 5).unwrap();
        template_data("5bd0-incident", start, &lagging_group(), &extras)
    }

    fn render(text: &str) -> String {
        Template::parse(text).unwrap().render(&data()).unwrap()
    }

    /// Burrow's `config/default-http-post.tmpl`, as shipped.
    #[test]
    fn burrows_http_post_template_renders() {
        let body = render(
            r#"{"api_key":"{{index .Extras "api_key"}}","app":"{{index .Extras "app"}}","block":false,"events":[{"id":"{{.ID}}","event":{"severity":"{{if eq .Result.Status 2}}WARN{{else}}ERR{{end}}","tier":"{{index .Extras "tier"}}","group":"{{.Result.Group}}","start":"{{.Start.Format "Jan 02, 2006 15:04:05 UTC"}}","complete":{{.Result.Complete}},"partitions":{{.Result.Partitions | jsonencoder}}}}]}"#,
        );
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let event = &body["events"][0];
        assert_eq!(body["api_key"], "k1");
        assert_eq!(event["id"], "5bd0-incident");
        assert_eq!(event["event"]["severity"], "ERR");
        assert_eq!(event["event"]["tier"], "1");
        assert_eq!(event["event"]["group"], "billing");
        assert_eq!(event["event"]["start"], "Dec 05, 2026 13:04:05 UTC");
        assert_eq!(event["event"]["complete"], 0.5);
        let partitions = &event["event"]["partitions"];
        assert_eq!(partitions[0]["topic"], "orders");
        assert_eq!(partitions[0]["status"], "STOP");
        assert_eq!(partitions[0]["current_lag"], 40);
        assert_eq!(partitions[0]["start"]["observedAt"], 1_700_000_000_100i64);
        assert_eq!(partitions[1]["status"], "WARN");
    }

    /// Burrow's `config/default-slack-post.tmpl` and `default-http-delete.tmpl`.
    #[test]
    fn burrows_slack_and_delete_templates_render() {
        let slack: serde_json::Value = serde_json::from_str(&render(
            r#"{ "attachments": [{"color": "danger","title": "A kafka consumer is lagging behind!","fields": [{"title": "Group","value": "{{ .Group }}", "short": false},{"title": "Cluster","value": "{{ .Cluster }}","short": true},{"title": "Total Lag","value": "{{ .Result.TotalLag}}","short": true}, {"title": "Start","value": "{{ .Start.Format "2006-01-02T15:04:05Z07:00" }}","short": true}]}]}"#,
        ))
        .unwrap();
        let fields = &slack["attachments"][0]["fields"];
        assert_eq!(fields[0]["value"], "billing");
        assert_eq!(fields[1]["value"], "local");
        assert_eq!(fields[2]["value"], "42");
        assert_eq!(fields[3]["value"], "2026-12-05T13:04:05Z");
        let delete = render(
            r#"{"api_key":"{{index .Extras "api_key"}}","app":"{{index .Extras "app"}}","block":false,"ids":["{{.Id}}"]}"#,
        );
        assert_eq!(
            delete,
            r#"{"api_key":"k1","app":"shop","block":false,"ids":["5bd0-incident"]}"#
        );
    }

    /// Burrow's `config/default-email.tmpl`: `range`, `len`, methods on the status.
    #[test]
    fn burrows_email_template_renders() {
        let text = render(
            "Cluster:  {{.Result.Cluster}}\nGroup:    {{.Result.Group}}\nStatus:   {{.Result.Status.String}}\nComplete: {{.Result.Complete}}\nErrors:   {{len .Result.Partitions}} partitions have problems\n{{range .Result.Partitions}}          {{.Status.String}} {{.Topic}}:{{.Partition}} ({{.Start.Timestamp}}, {{.Start.Offset}}, {{.Start.Lag}}) -> ({{.End.Timestamp}}, {{.End.Offset}}, {{.End.Lag}})\n{{end}}",
        );
        assert_eq!(
            text,
            "Cluster:  local\nGroup:    billing\nStatus:   ERR\nComplete: 0.5\nErrors:   2 partitions have problems\n          STOP orders:0 (1700000000000, 10, 5) -> (1700000060000, 12, 40)\n          WARN audit:1 (1700000000000, 10, 5) -> (1700000060000, 12, 2)\n"
        );
    }

    /// Burrow's helper functions, as its users' templates call them.
    #[test]
    fn burrows_helpers_compute_what_burrow_does() {
        assert_eq!(
            render(
                r#"{{with partitioncounts .Result.Partitions}}{{.stop}}/{{.warn}}/{{.unknown}}{{end}}"#
            ),
            "1/1/0"
        );
        assert_eq!(
            render(
                r#"{{range $status, $topics := topicsbystatus .Result.Partitions}}{{$status}}={{index $topics 0}};{{end}}"#
            ),
            "STOP=orders;WARN=audit;"
        );
        assert_eq!(render("{{maxlag .Result.Maxlag}} {{add 2 3}} {{minus 2 3}} {{multiply 4 5}} {{divide 9 2}}"), "40 5 -1 20 4");
        assert_eq!(
            render(r#"{{formattimestamp 1700000000000 "2006-01-02 15:04"}}"#),
            "2023-11-14 22:13"
        );
        assert_eq!(
            render(r#"{{printf "%s has %d lag (%.1f%%)" .Group .Result.TotalLag 12.5}}"#),
            "billing has 42 lag (12.5%)"
        );
        let error = Template::parse("{{divide 1 0}}")
            .unwrap()
            .render(&data())
            .unwrap_err();
        assert!(
            error.to_string().contains("integer divide by zero"),
            "{error}"
        );
    }

    /// A URL is a template too, and a body the data cannot fill names the reason.
    #[test]
    fn urls_are_templates_and_failures_are_named() {
        assert_eq!(
            render("http://alerts/{{.Cluster}}/{{.Group}}?id={{.ID}}"),
            "http://alerts/local/billing?id=5bd0-incident"
        );
        let error = Template::parse("{{.Result.Nope}}")
            .unwrap()
            .render(&data())
            .unwrap_err();
        assert!(
            error.to_string().contains("can't evaluate field Nope"),
            "{error}"
        );
        let error = load(Some("/nonexistent/open.tmpl")).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/open.tmpl"),
            "{error}"
        );
    }

    #[test]
    fn the_default_body_is_json() {
        let body = load(None).unwrap().render(&data()).unwrap();
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], "ERR");
        assert_eq!(body["totallag"], 42);
        assert_eq!(body["result"]["maxlag"]["topic"], "orders");
        assert_eq!(body["id"], "5bd0-incident");
    }
}
