//! Which tables a source connector copies (Confluent's `TableMonitorThread` and
//! `GenericDatabaseDialect.tableIds`), and how they are spread over tasks
//! (`JdbcSourceConnector.taskConfigs` with Kafka's `ConnectorUtils.groupPartitions`).

use std::collections::HashMap;

use tokio_postgres::Client;

use crate::config::{JdbcSourceConfig, TABLES};
use crate::dialect::{QuoteMethod, TableId};
use crate::error::JdbcError;

/// The JDBC table type the PostgreSQL driver reports for a relation (`getTables`'
/// `TABLE_TYPE`), which `table.types` selects on.
fn table_type(schema: &str, relkind: i8) -> &'static str {
    let system = schema == "pg_catalog" || schema == "information_schema";
    let temporary = schema.starts_with("pg_temp_");
    match relkind as u8 {
        b'r' if system => "SYSTEM TABLE",
        b'v' if system => "SYSTEM VIEW",
        b'r' if temporary => "TEMPORARY TABLE",
        b'r' => "TABLE",
        b'p' => "PARTITIONED TABLE",
        b'v' => "VIEW",
        b'm' => "MATERIALIZED VIEW",
        b'f' => "FOREIGN TABLE",
        _ => "OTHER",
    }
}

/// Every relation of one of `table.types` (case-insensitive) in schemas matching
/// `schema.pattern` (a SQL LIKE pattern; null means all), ordered by schema and name. The
/// catalog is the database, as the PostgreSQL JDBC driver reports it.
pub async fn table_ids(
    client: &Client,
    config: &JdbcSourceConfig,
) -> Result<Vec<TableId>, JdbcError> {
    let rows = client
        .query(
            "SELECT current_database()::text, n.nspname::text, c.relname::text, c.relkind \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r','p','v','m','f') AND n.nspname NOT LIKE 'pg_toast%' \
             AND ($1::text IS NULL OR n.nspname LIKE $1::text) \
             ORDER BY n.nspname, c.relname",
            &[&config.schema_pattern],
        )
        .await
        .map_err(JdbcError::sql("Could not list the database's tables"))?;
    let wanted: Vec<String> = config
        .table_types
        .iter()
        .map(|t| t.trim().to_uppercase())
        .collect();
    Ok(rows
        .iter()
        .filter(|row| {
            let catalog: &str = row.get(0);
            config
                .catalog_pattern
                .as_deref()
                .is_none_or(|p| p == catalog)
        })
        .filter(|row| {
            wanted
                .iter()
                .any(|t| t == table_type(row.get(1), row.get(3)))
        })
        .map(|row| TableId::new(Some(row.get(0)), Some(row.get(1)), row.get(2)))
        .collect())
}

/// `TableMonitorThread`'s filtering: `table.include.list`/`exclude.list` as regexes over the
/// whole unquoted name (`db.schema.table`); otherwise `table.whitelist`/`blacklist`, each
/// entry matching the unquoted name, the quoted name or the bare table name.
pub fn filter_tables(
    config: &JdbcSourceConfig,
    tables: Vec<TableId>,
) -> Result<Vec<TableId>, JdbcError> {
    let anchored = |patterns: &[String]| -> Result<Vec<regex::Regex>, JdbcError> {
        patterns
            .iter()
            .map(|p| {
                regex::Regex::new(&format!("^(?:{})$", p.trim()))
                    .map_err(|e| JdbcError::connect(format!("Invalid regular expression {p}: {e}")))
            })
            .collect()
    };
    let filtered: Vec<TableId> = if !config.table_include_list.is_empty() {
        let include = anchored(&config.table_include_list)?;
        let exclude = anchored(&config.table_exclude_list)?;
        tables
            .into_iter()
            .filter(|t| {
                let name = t.unquoted();
                include.iter().any(|r| r.is_match(&name))
                    && !exclude.iter().any(|r| r.is_match(&name))
            })
            .collect()
    } else {
        let matches = |list: &[String], t: &TableId| {
            list.iter().any(|entry| {
                *entry == t.unquoted()
                    || *entry == t.to_sql(QuoteMethod::Always)
                    || *entry == t.table
            })
        };
        if !config.table_whitelist.is_empty() {
            tables
                .into_iter()
                .filter(|t| matches(&config.table_whitelist, t))
                .collect()
        } else {
            tables
                .into_iter()
                .filter(|t| !matches(&config.table_blacklist, t))
                .collect()
        }
    };
    let mut by_name: HashMap<&str, Vec<&TableId>> = HashMap::new();
    for t in &filtered {
        by_name.entry(&t.table).or_default().push(t);
    }
    let mut duplicates: Vec<String> = by_name
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(name, ids)| {
            format!(
                "{name}=[{}]",
                ids.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    if !duplicates.is_empty() {
        duplicates.sort();
        let config_text = if !config.table_whitelist.is_empty() {
            "'table.whitelist'"
        } else if !config.table_blacklist.is_empty() {
            "'table.blacklist'"
        } else {
            "'table.whitelist' or 'table.blacklist'"
        };
        return Err(JdbcError::connect(format!(
            "The connector uses the unqualified table name as the topic name and has detected duplicate unqualified table names. This could lead to mixed data types in the topic and downstream processing errors. To prevent such processing errors, the JDBC Source connector fails to start when it detects duplicate table name configurations. Update the connector's {config_text} config to include exactly one table in each of the tables listed below.\n\t{{{}}}",
            duplicates.join(", ")
        )));
    }
    Ok(filtered)
}

/// The tables a source connector copies now: listed, then filtered.
pub async fn discover_tables(
    client: &Client,
    config: &JdbcSourceConfig,
) -> Result<Vec<TableId>, JdbcError> {
    let all = table_ids(client, config).await?;
    filter_tables(config, all)
}

/// Confluent's `TableMonitorThread` without the thread: the connector calls `update` every
/// `table.poll.interval.ms`; when it returns `true` the table set changed and the task
/// configs must be recomputed (`ConnectorContext.requestTaskReconfiguration`).
#[derive(Debug, Clone)]
pub struct TableMonitor {
    config: JdbcSourceConfig,
    tables: Option<Vec<TableId>>,
}

impl TableMonitor {
    pub fn new(config: JdbcSourceConfig) -> TableMonitor {
        TableMonitor {
            config,
            tables: None,
        }
    }

    /// A monitor that already listed `tables` (the connector's listing at start): only
    /// a later difference counts as a change.
    pub fn listed(config: JdbcSourceConfig, tables: Vec<TableId>) -> TableMonitor {
        TableMonitor {
            config,
            tables: Some(tables),
        }
    }

    /// Lists and filters the tables again; whether they differ from the last listing (the
    /// first listing counts as a change).
    pub async fn update(&mut self, client: &Client) -> Result<bool, JdbcError> {
        let tables = discover_tables(client, &self.config).await?;
        let changed = self.tables.as_ref() != Some(&tables);
        self.tables = Some(tables);
        Ok(changed)
    }

    /// The tables of the last listing, `None` before the first.
    pub fn tables(&self) -> Option<&[TableId]> {
        self.tables.as_deref()
    }
}

/// Kafka's `ConnectorUtils.groupPartitions`: `elements` in `num_groups` contiguous groups,
/// the first `len % num_groups` of them one larger.
pub fn group_partitions<T: Clone>(elements: &[T], num_groups: usize) -> Vec<Vec<T>> {
    assert!(num_groups > 0, "Number of groups must be positive.");
    let per_group = elements.len() / num_groups;
    let leftover = elements.len() % num_groups;
    let mut groups = Vec::with_capacity(num_groups);
    let mut at = 0;
    for group in 0..num_groups {
        let size = per_group + usize::from(group < leftover);
        groups.push(elements[at..at + size].to_vec());
        at += size;
    }
    groups
}

/// `JdbcSourceConnector.taskConfigs(maxTasks)`: in query mode one task; otherwise the tables
/// grouped over at most `max_tasks` tasks, each config the connector's plus `tables`.
pub fn task_configs(
    connector_props: &HashMap<String, String>,
    config: &JdbcSourceConfig,
    tables: &[TableId],
    max_tasks: usize,
) -> Vec<HashMap<String, String>> {
    let with_tables = |tables: &[TableId]| {
        let mut props = connector_props.clone();
        props.insert(
            TABLES.to_string(),
            tables
                .iter()
                .map(|t| t.to_sql(config.quote))
                .collect::<Vec<_>>()
                .join(","),
        );
        props.insert("tables.fetched".to_string(), "true".to_string());
        props
    };
    if config.query.is_some() || tables.is_empty() {
        return vec![with_tables(&[])];
    }
    let groups = tables.len().min(max_tasks.max(1));
    group_partitions(tables, groups)
        .iter()
        .map(|g| with_tables(g))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_partitions_as_kafka_does() {
        let groups = group_partitions(&[1, 2, 3, 4, 5], 3);
        assert_eq!(groups, vec![vec![1, 2], vec![3, 4], vec![5]]);
        assert_eq!(group_partitions(&[1, 2], 2), vec![vec![1], vec![2]]);
    }

    fn config(pairs: &[(&str, &str)]) -> JdbcSourceConfig {
        let mut props: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        props.insert("connection.url".into(), "jdbc:postgresql://h/db".into());
        props.insert("mode".into(), "bulk".into());
        JdbcSourceConfig::from_props(&props).unwrap()
    }

    #[test]
    fn filters_by_lists_and_regexes() {
        let tables = vec![
            TableId::new(Some("db"), Some("public"), "users"),
            TableId::new(Some("db"), Some("public"), "orders"),
            TableId::new(Some("db"), Some("audit"), "log"),
        ];
        let names = |c: &JdbcSourceConfig| {
            filter_tables(c, tables.clone())
                .unwrap()
                .iter()
                .map(|t| t.table.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&config(&[("table.whitelist", "users, db.audit.log")])),
            vec!["users", "log"]
        );
        assert_eq!(
            names(&config(&[(
                "table.blacklist",
                "\"db\".\"public\".\"orders\""
            )])),
            vec!["users", "log"]
        );
        assert_eq!(
            names(&config(&[
                ("table.include.list", "db\\.public\\..*"),
                ("table.exclude.list", ".*orders")
            ])),
            vec!["users"]
        );
        let dup = vec![
            TableId::new(Some("db"), Some("a"), "t"),
            TableId::new(Some("db"), Some("b"), "t"),
        ];
        let err = filter_tables(&config(&[]), dup).unwrap_err().to_string();
        assert!(
            err.starts_with("The connector uses the unqualified table name as the topic name"),
            "{err}"
        );
    }
}
