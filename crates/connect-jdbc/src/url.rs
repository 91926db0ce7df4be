//! `connection.url` as Confluent's connector (through the PostgreSQL JDBC driver) accepts it:
//! `jdbc:postgresql://host[:port][,host2[:port2]]/database?user=…&password=…&…`, with
//! `connection.user`/`connection.password` taking precedence over the URL's, as the driver's
//! `DriverManager.getConnection(url, user, password)` does.

use percent_encoding::percent_decode_str;
use rafka_connect_data::ConfigError;

const PREFIX: &str = "jdbc:postgresql:";

/// The parts of a PostgreSQL JDBC URL that a tokio-postgres connection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    pub hosts: Vec<(String, u16)>,
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Other URL parameters (`ssl`, `currentSchema`…), kept but not interpreted.
    pub parameters: Vec<(String, String)>,
}

impl PostgresUrl {
    /// Parses `url`; the error names `connection.url` as Kafka's `ConfigException` would.
    pub fn parse(url: &str) -> Result<PostgresUrl, ConfigError> {
        let invalid = |why: &str| ConfigError::invalid("connection.url", url, why.to_string());
        let rest = url.strip_prefix(PREFIX).ok_or_else(|| {
            invalid("Not a PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)")
        })?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut hosts = Vec::new();
        let database;
        if let Some(after) = path.strip_prefix("//") {
            let (authority, db) = after.split_once('/').unwrap_or((after, ""));
            for host in authority.split(',').filter(|h| !h.is_empty()) {
                let (name, port) = if let Some(v6) = host.strip_prefix('[') {
                    let (name, tail) =
                        v6.split_once(']').ok_or_else(|| invalid("Bad IPv6 host"))?;
                    (name.to_string(), tail.strip_prefix(':'))
                } else {
                    match host.rsplit_once(':') {
                        Some((n, p)) => (n.to_string(), Some(p)),
                        None => (host.to_string(), None),
                    }
                };
                let port = match port {
                    Some(p) if !p.is_empty() => p.parse().map_err(|_| invalid("Bad port"))?,
                    _ => 5432,
                };
                hosts.push((name, port));
            }
            database = decode(db);
        } else {
            // `jdbc:postgresql:database` means localhost:5432.
            database = decode(path);
        }
        if hosts.is_empty() {
            hosts.push(("localhost".to_string(), 5432));
        }
        let mut parsed = PostgresUrl {
            hosts,
            database: Some(database).filter(|d| !d.is_empty()),
            user: None,
            password: None,
            parameters: Vec::new(),
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value);
            match key {
                "user" => parsed.user = Some(value),
                "password" => parsed.password = Some(value),
                _ => parsed.parameters.push((key.to_string(), value)),
            }
        }
        Ok(parsed)
    }

    /// The tokio-postgres configuration, `user`/`password` (the connector's
    /// `connection.user`/`connection.password`) overriding the URL's.
    pub fn to_config(&self, user: Option<&str>, password: Option<&str>) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        for (host, port) in &self.hosts {
            config.host(host).port(*port);
        }
        if let Some(db) = &self.database {
            config.dbname(db);
        }
        if let Some(user) = user.or(self.user.as_deref()) {
            config.user(user);
        }
        if let Some(password) = password.or(self.password.as_deref()) {
            config.password(password);
        }
        config.application_name("rafka-connect-jdbc");
        config
    }
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seeds_url_and_credentials() {
        let url = PostgresUrl::parse(
            "jdbc:postgresql://localhost:5432/db?user=u&password=p%40ss&ssl=false",
        )
        .unwrap();
        assert_eq!(url.hosts, vec![("localhost".to_string(), 5432)]);
        assert_eq!(url.database.as_deref(), Some("db"));
        assert_eq!(url.user.as_deref(), Some("u"));
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(
            url.parameters,
            vec![("ssl".to_string(), "false".to_string())]
        );
        let config = url.to_config(Some("other"), None);
        assert_eq!(config.get_user(), Some("other"));
        assert_eq!(config.get_password(), Some(&b"p@ss"[..]));
    }

    #[test]
    fn defaults_port_and_host_and_rejects_other_drivers() {
        let url = PostgresUrl::parse("jdbc:postgresql://h1,h2:6000/x").unwrap();
        assert_eq!(
            url.hosts,
            vec![("h1".to_string(), 5432), ("h2".to_string(), 6000)]
        );
        let url = PostgresUrl::parse("jdbc:postgresql:mydb").unwrap();
        assert_eq!(url.hosts, vec![("localhost".to_string(), 5432)]);
        assert_eq!(url.database.as_deref(), Some("mydb"));
        assert!(PostgresUrl::parse("jdbc:mysql://localhost/db").is_err());
    }
}
