//! ACL bindings as Kafka has them (`org.apache.kafka.common.acl`, `…common.resource`):
//! a resource pattern (type, name, literal or prefixed) and an entry (principal, host,
//! operation, allow or deny), with Kafka's wire codes, its filters for `DescribeAcls` and
//! `DeleteAcls`, and the checks `CreateAcls` makes (`AclControlManager.validateNewAcl`).

use std::fmt;

/// The resource name that matches every name when the pattern is literal.
pub const WILDCARD_RESOURCE: &str = "*";
/// The principal that matches every principal.
pub const WILDCARD_PRINCIPAL: &str = "User:*";
/// The host that matches every host.
pub const WILDCARD_HOST: &str = "*";

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant),*
        }

        impl $name {
            /// Kafka's wire code.
            pub fn code(self) -> i8 {
                match self {
                    $($name::$variant => $code),*
                }
            }

            /// The value of a wire code; codes Kafka does not know are `Unknown`.
            pub fn from_code(code: i8) -> $name {
                match code {
                    $($code => $name::$variant,)*
                    _ => $name::Unknown,
                }
            }

            /// Kafka's name (`TOPIC`, `PREFIXED`, `DESCRIBE_CONFIGS` …).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }

            /// The value of a name as Kafka's tools accept it (any case, `-` for `_`).
            pub fn from_name(name: &str) -> Option<$name> {
                let wanted = name.trim().replace('-', "_").to_ascii_uppercase();
                [$($name::$variant),*].into_iter().find(|v| v.name() == wanted)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

wire_enum!(
    /// `ResourceType`.
    ResourceType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Topic = 2 => "TOPIC",
        Group = 3 => "GROUP",
        Cluster = 4 => "CLUSTER",
        TransactionalId = 5 => "TRANSACTIONAL_ID",
        DelegationToken = 6 => "DELEGATION_TOKEN",
        User = 7 => "USER",
    }
);

wire_enum!(
    /// `PatternType`: `Any` and `Match` exist only in filters.
    PatternType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Match = 2 => "MATCH",
        Literal = 3 => "LITERAL",
        Prefixed = 4 => "PREFIXED",
    }
);

wire_enum!(
    /// `AclOperation`.
    AclOperation {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        All = 2 => "ALL",
        Read = 3 => "READ",
        Write = 4 => "WRITE",
        Create = 5 => "CREATE",
        Delete = 6 => "DELETE",
        Alter = 7 => "ALTER",
        Describe = 8 => "DESCRIBE",
        ClusterAction = 9 => "CLUSTER_ACTION",
        DescribeConfigs = 10 => "DESCRIBE_CONFIGS",
        AlterConfigs = 11 => "ALTER_CONFIGS",
        IdempotentWrite = 12 => "IDEMPOTENT_WRITE",
        CreateTokens = 13 => "CREATE_TOKENS",
        DescribeTokens = 14 => "DESCRIBE_TOKENS",
        TwoPhaseCommit = 15 => "TWO_PHASE_COMMIT",
    }
);

wire_enum!(
    /// `AclPermissionType`.
    AclPermissionType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Deny = 2 => "DENY",
        Allow = 3 => "ALLOW",
    }
);

/// Kafka's `AclEntry.supportedOperations`: the operations an ACL on a resource of this
/// type may name (and those an `authorized_operations` field reports); none for the
/// filter-only and unknown types.
pub fn supported_operations(resource_type: ResourceType) -> &'static [AclOperation] {
    use AclOperation::*;
    match resource_type {
        ResourceType::Topic => &[
            Read,
            Write,
            Create,
            Describe,
            Delete,
            Alter,
            DescribeConfigs,
            AlterConfigs,
        ],
        ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
        ResourceType::Cluster => &[
            Create,
            ClusterAction,
            DescribeConfigs,
            AlterConfigs,
            IdempotentWrite,
            Alter,
            Describe,
        ],
        ResourceType::TransactionalId => &[Describe, Write, TwoPhaseCommit],
        ResourceType::DelegationToken => &[Describe],
        ResourceType::User => &[CreateTokens, DescribeTokens],
        ResourceType::Unknown | ResourceType::Any => &[],
    }
}

/// `ResourcePattern`: what an ACL applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourcePattern {
    pub resource_type: ResourceType,
    pub name: String,
    pub pattern_type: PatternType,
}

/// `AccessControlEntry`: who may (or may not) do what from where.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessControlEntry {
    /// `Type:name`, e.g. `User:alice`.
    pub principal: String,
    pub host: String,
    pub operation: AclOperation,
    pub permission: AclPermissionType,
}

/// `AclBinding`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    pub pattern: ResourcePattern,
    pub entry: AccessControlEntry,
}

/// Why `CreateAcls` refuses a binding: Kafka's `InvalidRequestException` messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidAcl(pub String);

impl AclBinding {
    /// Kafka's checks of a new ACL (`AclControlManager.validateNewAcl`), and that the
    /// principal is `Type:name` (`SecurityUtils.parseKafkaPrincipal`).
    pub fn validate(&self) -> Result<(), InvalidAcl> {
        let invalid = |what: &str, value: &dyn fmt::Display| {
            Err(InvalidAcl(format!("Invalid {what} {value}")))
        };
        match self.pattern.resource_type {
            ResourceType::Unknown | ResourceType::Any => {
                return invalid("resourceType", &self.pattern.resource_type)
            }
            _ => {}
        }
        match self.pattern.pattern_type {
            PatternType::Literal | PatternType::Prefixed => {}
            other => return invalid("patternType", &other),
        }
        match self.entry.operation {
            AclOperation::Unknown | AclOperation::Any => {
                return invalid("operation", &self.entry.operation)
            }
            _ => {}
        }
        match self.entry.permission {
            AclPermissionType::Allow | AclPermissionType::Deny => {}
            other => return invalid("permissionType", &other),
        }
        if self.pattern.name.is_empty() {
            return Err(InvalidAcl("Resource name should not be empty".to_string()));
        }
        if !self.entry.principal.contains(':') {
            return Err(InvalidAcl(format!(
                "Could not parse principal from `{}` (no colon is present separating the principal type from the principal name)",
                self.entry.principal
            )));
        }
        Ok(())
    }
}

/// `AclBindingFilter`: `None` fields (name, principal, host) match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBindingFilter {
    pub resource_type: ResourceType,
    pub name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission: AclPermissionType,
}

impl AclBindingFilter {
    /// The filter that matches every binding.
    pub fn any() -> AclBindingFilter {
        AclBindingFilter {
            resource_type: ResourceType::Any,
            name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: AclPermissionType::Any,
        }
    }

    /// Kafka's `AclBindingFilter.matches`: the pattern part (`MATCH` also takes the
    /// literal wildcard and the prefixes of `name`), then the entry part.
    pub fn matches(&self, binding: &AclBinding) -> bool {
        self.matches_pattern(&binding.pattern) && self.matches_entry(&binding.entry)
    }

    fn matches_pattern(&self, pattern: &ResourcePattern) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != pattern.resource_type {
            return false;
        }
        if !matches!(self.pattern_type, PatternType::Any | PatternType::Match)
            && self.pattern_type != pattern.pattern_type
        {
            return false;
        }
        let Some(name) = &self.name else {
            return true;
        };
        if self.pattern_type == PatternType::Any || self.pattern_type == pattern.pattern_type {
            return *name == pattern.name;
        }
        match pattern.pattern_type {
            PatternType::Literal => *name == pattern.name || pattern.name == WILDCARD_RESOURCE,
            PatternType::Prefixed => name.starts_with(&pattern.name),
            _ => false,
        }
    }

    fn matches_entry(&self, entry: &AccessControlEntry) -> bool {
        self.principal
            .as_ref()
            .is_none_or(|p| *p == entry.principal)
            && self.host.as_ref().is_none_or(|h| *h == entry.host)
            && (self.operation == AclOperation::Any || self.operation == entry.operation)
            && (self.permission == AclPermissionType::Any || self.permission == entry.permission)
    }

    /// Kafka's check of a `DeleteAcls` filter (`AclControlManager.validateFilter`): a
    /// field with a code Kafka does not know makes the filter invalid.
    pub fn validate(&self) -> Result<(), InvalidAcl> {
        if self.resource_type == ResourceType::Unknown || self.pattern_type == PatternType::Unknown
        {
            return Err(InvalidAcl("Unknown patternFilter.".to_string()));
        }
        if self.operation == AclOperation::Unknown || self.permission == AclPermissionType::Unknown
        {
            return Err(InvalidAcl("Unknown entryFilter.".to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(
        resource_type: ResourceType,
        name: &str,
        pattern_type: PatternType,
        principal: &str,
        operation: AclOperation,
        permission: AclPermissionType,
    ) -> AclBinding {
        AclBinding {
            pattern: ResourcePattern {
                resource_type,
                name: name.into(),
                pattern_type,
            },
            entry: AccessControlEntry {
                principal: principal.into(),
                host: "*".into(),
                operation,
                permission,
            },
        }
    }

    #[test]
    fn codes_and_names_are_kafkas() {
        assert_eq!(ResourceType::Topic.code(), 2);
        assert_eq!(ResourceType::from_code(5), ResourceType::TransactionalId);
        assert_eq!(ResourceType::from_code(42), ResourceType::Unknown);
        assert_eq!(PatternType::Prefixed.code(), 4);
        assert_eq!(AclOperation::IdempotentWrite.code(), 12);
        assert_eq!(
            AclOperation::from_name("describe-configs"),
            Some(AclOperation::DescribeConfigs)
        );
        assert_eq!(AclPermissionType::Allow.code(), 3);
        assert_eq!(AclOperation::ClusterAction.to_string(), "CLUSTER_ACTION");
    }

    #[test]
    fn new_acls_are_checked_as_kafka_checks_them() {
        use AclOperation::*;
        use AclPermissionType::*;
        use PatternType::*;
        use ResourceType::*;
        let ok = binding(Topic, "t", Literal, "User:a", Read, Allow);
        assert_eq!(ok.validate(), Ok(()));
        let refuse = |b: AclBinding| b.validate().unwrap_err().0;
        assert_eq!(
            refuse(binding(
                ResourceType::Any,
                "t",
                Literal,
                "User:a",
                Read,
                Allow
            )),
            "Invalid resourceType ANY"
        );
        assert_eq!(
            refuse(binding(Topic, "t", Match, "User:a", Read, Allow)),
            "Invalid patternType MATCH"
        );
        assert_eq!(
            refuse(binding(
                Topic,
                "t",
                Literal,
                "User:a",
                AclOperation::Any,
                Allow
            )),
            "Invalid operation ANY"
        );
        assert_eq!(
            refuse(binding(
                Topic,
                "t",
                Literal,
                "User:a",
                Read,
                AclPermissionType::Unknown
            )),
            "Invalid permissionType UNKNOWN"
        );
        assert_eq!(
            refuse(binding(Topic, "", Literal, "User:a", Read, Allow)),
            "Resource name should not be empty"
        );
        assert!(refuse(binding(Topic, "t", Literal, "alice", Read, Allow)).contains("no colon"));
    }

    #[test]
    fn filters_match_as_kafkas_do() {
        use AclOperation::*;
        use AclPermissionType::*;
        use PatternType::*;
        use ResourceType::*;
        let literal = binding(Topic, "orders", Literal, "User:a", Read, Allow);
        let wildcard = binding(Topic, "*", Literal, "User:a", Read, Allow);
        let prefixed = binding(Topic, "ord", Prefixed, "User:b", Write, Deny);
        let group = binding(Group, "orders", Literal, "User:a", Read, Allow);
        let filter = |name: Option<&str>, pattern_type| AclBindingFilter {
            resource_type: Topic,
            name: name.map(str::to_owned),
            pattern_type,
            ..AclBindingFilter::any()
        };
        let matched = |f: &AclBindingFilter| {
            [&literal, &wildcard, &prefixed, &group]
                .iter()
                .filter(|b| f.matches(b))
                .count()
        };
        assert_eq!(matched(&AclBindingFilter::any()), 4);
        assert_eq!(matched(&filter(Some("orders"), Match)), 3);
        assert_eq!(matched(&filter(Some("orders"), PatternType::Any)), 1);
        assert_eq!(matched(&filter(Some("ord"), Prefixed)), 1);
        assert_eq!(matched(&filter(None, Literal)), 2);
        let by_entry = AclBindingFilter {
            principal: Some("User:b".into()),
            permission: Deny,
            ..AclBindingFilter::any()
        };
        assert_eq!(matched(&by_entry), 1);
        let unknown = AclBindingFilter {
            resource_type: ResourceType::Unknown,
            ..AclBindingFilter::any()
        };
        assert_eq!(unknown.validate().unwrap_err().0, "Unknown patternFilter.");
        let unknown = AclBindingFilter {
            operation: AclOperation::Unknown,
            ..AclBindingFilter::any()
        };
        assert_eq!(unknown.validate().unwrap_err().0, "Unknown entryFilter.");
    }
}
