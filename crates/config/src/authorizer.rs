//! The authorizer's keys: `authorizer.class.name`, `super.users`,
//! `allow.everyone.if.no.acl.found`. Kept apart from `server` so that the listener and
//! SASL keys and these change in different places.

use std::collections::{BTreeMap, BTreeSet};

/// Kafka's KRaft authorizer, the one class rafka implements.
pub const STANDARD_AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// The keys this module reads.
pub const AUTHORIZER_KEYS: &[&str] = &[
    "authorizer.class.name",
    "super.users",
    "allow.everyone.if.no.acl.found",
];

/// Whether (and how) requests are authorized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// `authorizer.class.name` is the StandardAuthorizer; empty (the default) means no
    /// authorization, as in Kafka.
    pub enabled: bool,
    /// `super.users`: principals (`User:admin`) separated by `;`, allowed everything.
    pub super_users: BTreeSet<String>,
    /// `allow.everyone.if.no.acl.found` (default false): a resource no ACL names is
    /// open to everyone.
    pub allow_everyone_if_no_acl_found: bool,
}

impl AuthorizerConfig {
    /// Reads the keys from a node's properties; `Err` names the key and the value.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<AuthorizerConfig, String> {
        let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let enabled = match get("authorizer.class.name") {
            None => false,
            Some(STANDARD_AUTHORIZER) => true,
            Some(other) => {
                return Err(format!(
                    "Invalid value {other} for configuration authorizer.class.name: rafka \
                     implements only {STANDARD_AUTHORIZER} (or an empty value for no \
                     authorization)"
                ))
            }
        };
        let allow_everyone_if_no_acl_found = match get("allow.everyone.if.no.acl.found") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(format!(
                    "Invalid value {v} for configuration allow.everyone.if.no.acl.found: \
                     Expected value to be either true or false"
                ))
            }
        };
        let super_users = get("super.users")
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect::<BTreeSet<_>>();
        if let Some(bad) = super_users.iter().find(|p| !p.contains(':')) {
            return Err(format!(
                "Invalid value {bad} for configuration super.users: a principal is Type:name, \
                 e.g. User:admin"
            ));
        }
        Ok(AuthorizerConfig {
            enabled,
            super_users,
            allow_everyone_if_no_acl_found,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<AuthorizerConfig, String> {
        AuthorizerConfig::from_properties(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn off_by_default_and_on_with_the_standard_authorizer() {
        assert_eq!(parse(&[]).unwrap(), AuthorizerConfig::default());
        assert!(!parse(&[("authorizer.class.name", "")]).unwrap().enabled);
        let on = parse(&[
            ("authorizer.class.name", STANDARD_AUTHORIZER),
            ("super.users", "User:admin; User:broker"),
            ("allow.everyone.if.no.acl.found", "TRUE"),
        ])
        .unwrap();
        assert!(on.enabled);
        assert!(on.allow_everyone_if_no_acl_found);
        assert_eq!(
            on.super_users.iter().collect::<Vec<_>>(),
            ["User:admin", "User:broker"]
        );
    }

    #[test]
    fn another_class_or_a_bad_value_is_refused() {
        let e = parse(&[(
            "authorizer.class.name",
            "kafka.security.authorizer.AclAuthorizer",
        )])
        .unwrap_err();
        assert!(e.contains("authorizer.class.name"), "{e}");
        assert!(e.contains(STANDARD_AUTHORIZER), "{e}");
        let e = parse(&[("allow.everyone.if.no.acl.found", "yes")]).unwrap_err();
        assert!(e.contains("allow.everyone.if.no.acl.found"), "{e}");
        assert!(parse(&[("super.users", "admin")]).is_err());
    }
}
