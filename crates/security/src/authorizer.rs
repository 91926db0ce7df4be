//! Kafka's `StandardAuthorizer` decision over a set of ACL bindings
//! (`StandardAuthorizerData.authorize`):
//!
//! - a super user (`super.users`, `User:a;User:b`) may do anything;
//! - the ACLs that apply to a resource are its literal ACLs of the same name, the literal
//!   wildcard (`*`) ones, and the prefixed ones whose prefix starts its name;
//! - among them, those whose principal is the caller or `User:*`, whose host is the
//!   caller's or `*`, and whose operation is the action's or `ALL` decide — with an ALLOW
//!   of READ, WRITE, DELETE or ALTER also granting DESCRIBE, and ALTER_CONFIGS granting
//!   DESCRIBE_CONFIGS (never for DENY);
//! - a matching DENY wins; else a matching ALLOW allows; else, when no ACL at all applies
//!   to the resource, `allow.everyone.if.no.acl.found` decides; else the action is denied.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::acl::{
    AclBinding, AclBindingFilter, AclOperation, AclPermissionType, PatternType, ResourceType,
    WILDCARD_HOST, WILDCARD_PRINCIPAL, WILDCARD_RESOURCE,
};

/// What a caller asks to do.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    pub resource_type: ResourceType,
    pub name: &'a str,
    pub operation: AclOperation,
}

/// Who asks, from where.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// `Type:name`, e.g. `User:alice` (`User:ANONYMOUS` on an unauthenticated listener).
    pub principal: &'a str,
    pub host: &'a str,
}

/// The ACL bindings, indexed by resource for the decision.
///
/// Indexed by resource type first, then by name, so that a decision looks names up as
/// `&str`: authorizing allocates nothing (it runs on the produce path, per topic).
#[derive(Debug, Clone, Default)]
pub struct AclStore {
    /// Literal ACLs (wildcard ones under `*`) by resource type and name.
    literal: HashMap<ResourceType, HashMap<String, Vec<AclBinding>>>,
    /// Prefixed ACLs by resource type and prefix.
    prefixed: HashMap<ResourceType, BTreeMap<String, Vec<AclBinding>>>,
    all: HashSet<AclBinding>,
}

impl AclStore {
    pub fn new() -> AclStore {
        AclStore::default()
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Adds a binding; `false` when it was there already.
    pub fn add(&mut self, binding: AclBinding) -> bool {
        if !self.all.insert(binding.clone()) {
            return false;
        }
        let (resource_type, name) = (binding.pattern.resource_type, binding.pattern.name.clone());
        match binding.pattern.pattern_type {
            PatternType::Prefixed => self
                .prefixed
                .entry(resource_type)
                .or_default()
                .entry(name)
                .or_default()
                .push(binding),
            _ => self
                .literal
                .entry(resource_type)
                .or_default()
                .entry(name)
                .or_default()
                .push(binding),
        }
        true
    }

    /// Removes a binding; `false` when it was not there.
    pub fn remove(&mut self, binding: &AclBinding) -> bool {
        if !self.all.remove(binding) {
            return false;
        }
        let (resource_type, name) = (&binding.pattern.resource_type, &binding.pattern.name);
        let index = match binding.pattern.pattern_type {
            PatternType::Prefixed => self
                .prefixed
                .get_mut(resource_type)
                .and_then(|by_name| by_name.get_mut(name)),
            _ => self
                .literal
                .get_mut(resource_type)
                .and_then(|by_name| by_name.get_mut(name)),
        };
        if let Some(bindings) = index {
            bindings.retain(|b| b != binding);
        }
        true
    }

    /// The bindings a filter matches, in a stable order.
    pub fn matching(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        let mut found: Vec<AclBinding> = self
            .all
            .iter()
            .filter(|b| filter.matches(b))
            .cloned()
            .collect();
        found.sort();
        found
    }

    /// Every ACL that applies to the resource of `action`, whoever it is for.
    fn applying<'s>(&'s self, action: &'s Action<'_>) -> impl Iterator<Item = &'s AclBinding> {
        let literals = self.literal.get(&action.resource_type);
        let literal = move |name: &str| {
            literals
                .and_then(|by_name| by_name.get(name))
                .into_iter()
                .flatten()
        };
        let prefixed = self.prefixed.get(&action.resource_type);
        let prefixes = prefixed
            .into_iter()
            .flat_map(move |by_prefix| {
                action
                    .name
                    .char_indices()
                    .map(|(i, c)| &action.name[..i + c.len_utf8()])
                    .filter_map(move |prefix| by_prefix.get(prefix))
            })
            .flatten();
        literal(action.name)
            .chain(
                (action.name != WILDCARD_RESOURCE)
                    .then(|| literal(WILDCARD_RESOURCE))
                    .into_iter()
                    .flatten(),
            )
            .chain(prefixes)
    }
}

/// Kafka's `StandardAuthorizer`: the ACLs, the super users and the default.
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    pub acls: AclStore,
    /// `super.users`.
    pub super_users: HashSet<String>,
    /// `allow.everyone.if.no.acl.found`.
    pub allow_if_no_acl: bool,
}

impl Authorizer {
    /// `super.users` as Kafka reads it: principals separated by `;`.
    pub fn parse_super_users(value: &str) -> HashSet<String> {
        value
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn authorize(&self, caller: Caller<'_>, action: Action<'_>) -> bool {
        if self.super_users.contains(caller.principal) {
            return true;
        }
        let mut has_resource_acls = false;
        let mut allowed = false;
        for acl in self.acls.applying(&action) {
            has_resource_acls = true;
            match decide(caller, action, acl) {
                Some(AclPermissionType::Deny) => return false,
                Some(AclPermissionType::Allow) => allowed = true,
                _ => {}
            }
        }
        allowed || (!has_resource_acls && self.allow_if_no_acl)
    }
}

impl Authorizer {
    /// Kafka's `Authorizer.authorizeByResourceType`: whether the caller may do
    /// `operation` on at least one resource of `resource_type` (InitProducerId without
    /// a transactional id asks this of WRITE on topics). An ALLOW counts unless a DENY
    /// of the caller covers its whole pattern: a DENY of the literal wildcard, of the
    /// same literal name, or of a prefix of the allowed name.
    pub fn authorize_by_resource_type(
        &self,
        caller: Caller<'_>,
        resource_type: ResourceType,
        operation: AclOperation,
    ) -> bool {
        if self.super_users.contains(caller.principal) {
            return true;
        }
        let applies = |b: &&AclBinding| {
            b.pattern.resource_type == resource_type
                && (b.entry.principal == caller.principal
                    || b.entry.principal == WILDCARD_PRINCIPAL)
                && (b.entry.host == WILDCARD_HOST || b.entry.host == caller.host)
                && (b.entry.operation == operation || b.entry.operation == AclOperation::All)
        };
        let denies: Vec<&AclBinding> = self
            .acls
            .all
            .iter()
            .filter(applies)
            .filter(|b| b.entry.permission == AclPermissionType::Deny)
            .collect();
        let denied = |allowed: &AclBinding| {
            denies.iter().any(|d| {
                let (name, denied_name) = (&allowed.pattern.name, &d.pattern.name);
                match d.pattern.pattern_type {
                    PatternType::Literal => {
                        denied_name == WILDCARD_RESOURCE
                            || (allowed.pattern.pattern_type == PatternType::Literal
                                && denied_name == name)
                    }
                    PatternType::Prefixed => name.starts_with(denied_name.as_str()),
                    _ => false,
                }
            })
        };
        let allowed = self
            .acls
            .all
            .iter()
            .filter(applies)
            .filter(|b| b.entry.permission == AclPermissionType::Allow)
            .any(|b| !denied(b));
        allowed
            || (self.allow_if_no_acl
                && !self
                    .acls
                    .all
                    .iter()
                    .any(|b| b.pattern.resource_type == resource_type))
    }

    /// The operations of `operations` the caller may do on one resource, as Kafka's
    /// authorized-operations bit field (bit n set for AclOperation code n).
    pub fn authorized_operations(
        &self,
        caller: Caller<'_>,
        resource_type: ResourceType,
        name: &str,
        operations: &[AclOperation],
    ) -> i32 {
        operations
            .iter()
            .filter(|&&operation| {
                self.authorize(
                    caller,
                    Action {
                        resource_type,
                        name,
                        operation,
                    },
                )
            })
            .fold(0, |bits, op| bits | 1 << op.code())
    }
}

/// What one applying ACL says of the action (`findResult`): `None` when it does not
/// match the caller, the host or the operation.
fn decide(caller: Caller<'_>, action: Action<'_>, acl: &AclBinding) -> Option<AclPermissionType> {
    let entry = &acl.entry;
    if entry.principal != caller.principal && entry.principal != WILDCARD_PRINCIPAL {
        return None;
    }
    if entry.host != WILDCARD_HOST && entry.host != caller.host {
        return None;
    }
    if entry.operation != AclOperation::All {
        let implied = entry.permission == AclPermissionType::Allow
            && match action.operation {
                AclOperation::Describe => matches!(
                    entry.operation,
                    AclOperation::Describe
                        | AclOperation::Read
                        | AclOperation::Write
                        | AclOperation::Delete
                        | AclOperation::Alter
                ),
                AclOperation::DescribeConfigs => matches!(
                    entry.operation,
                    AclOperation::DescribeConfigs | AclOperation::AlterConfigs
                ),
                _ => false,
            };
        if !implied && entry.operation != action.operation {
            return None;
        }
    }
    Some(entry.permission)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{AccessControlEntry, ResourcePattern};
    use AclOperation::*;
    use AclPermissionType::{Allow, Deny};

    fn acl(
        name: &str,
        pattern_type: PatternType,
        principal: &str,
        host: &str,
        operation: AclOperation,
        permission: AclPermissionType,
    ) -> AclBinding {
        AclBinding {
            pattern: ResourcePattern {
                resource_type: ResourceType::Topic,
                name: name.into(),
                pattern_type,
            },
            entry: AccessControlEntry {
                principal: principal.into(),
                host: host.into(),
                operation,
                permission,
            },
        }
    }

    fn authorizer(acls: Vec<AclBinding>) -> Authorizer {
        let mut store = AclStore::new();
        for a in acls {
            store.add(a);
        }
        Authorizer {
            acls: store,
            super_users: Authorizer::parse_super_users("User:admin; User:ops"),
            allow_if_no_acl: false,
        }
    }

    fn can(a: &Authorizer, principal: &str, topic: &str, operation: AclOperation) -> bool {
        a.authorize(
            Caller {
                principal,
                host: "10.0.0.1",
            },
            Action {
                resource_type: ResourceType::Topic,
                name: topic,
                operation,
            },
        )
    }

    #[test]
    fn literal_prefixed_and_wildcard_acls_apply_to_their_resources() {
        use PatternType::*;
        let a = authorizer(vec![
            acl("orders", Literal, "User:alice", "*", Read, Allow),
            acl("pay", Prefixed, "User:bob", "*", Write, Allow),
            acl("*", Literal, "User:carol", "*", Read, Allow),
        ]);
        assert!(can(&a, "User:alice", "orders", Read));
        assert!(
            !can(&a, "User:alice", "orders2", Read),
            "literal is the exact name"
        );
        assert!(can(&a, "User:bob", "payments", Write));
        assert!(
            !can(&a, "User:bob", "pa", Write),
            "the prefix must start the name"
        );
        assert!(can(&a, "User:carol", "anything", Read));
        assert!(!can(&a, "User:alice", "orders", Write));
    }

    #[test]
    fn deny_wins_and_allow_implies_describe_only() {
        use PatternType::*;
        let a = authorizer(vec![
            acl("t", Literal, "User:*", "*", All, Allow),
            acl("t", Literal, "User:eve", "*", Write, Deny),
            acl("u", Literal, "User:alice", "*", Write, Allow),
            acl("u", Literal, "User:alice", "*", AlterConfigs, Allow),
            acl("v", Literal, "User:alice", "*", Read, Deny),
            acl("v", Literal, "User:alice", "*", Describe, Allow),
        ]);
        assert!(can(&a, "User:eve", "t", Read));
        assert!(!can(&a, "User:eve", "t", Write), "a DENY beats User:* ALL");
        assert!(
            can(&a, "User:alice", "u", Describe),
            "WRITE implies DESCRIBE"
        );
        assert!(
            can(&a, "User:alice", "u", DescribeConfigs),
            "ALTER_CONFIGS implies DESCRIBE_CONFIGS"
        );
        assert!(!can(&a, "User:alice", "u", Read));
        assert!(
            can(&a, "User:alice", "v", Describe),
            "a DENY of READ does not deny DESCRIBE"
        );
    }

    #[test]
    fn hosts_super_users_and_the_no_acl_default() {
        use PatternType::*;
        let mut a = authorizer(vec![acl(
            "t",
            Literal,
            "User:alice",
            "10.0.0.9",
            Read,
            Allow,
        )]);
        assert!(!can(&a, "User:alice", "t", Read), "another host");
        assert!(can(&a, "User:admin", "t", Delete), "a super user");
        assert!(can(&a, "User:ops", "none", Write));
        assert!(
            !can(&a, "User:alice", "free", Read),
            "no ACL and no default: denied"
        );
        a.allow_if_no_acl = true;
        assert!(
            can(&a, "User:alice", "free", Read),
            "allow.everyone.if.no.acl.found"
        );
        assert!(
            !can(&a, "User:bob", "t", Read),
            "the topic has ACLs: the default does not apply"
        );
    }

    #[test]
    fn by_resource_type_needs_an_allow_no_deny_covers() {
        use PatternType::*;
        let caller = Caller {
            principal: "User:alice",
            host: "10.0.0.1",
        };
        let by_type =
            |a: &Authorizer| a.authorize_by_resource_type(caller, ResourceType::Topic, Write);
        let mut a = authorizer(vec![acl(
            "orders",
            Literal,
            "User:alice",
            "*",
            Write,
            Allow,
        )]);
        assert!(by_type(&a), "an ALLOW of WRITE on one topic");
        a.acls
            .add(acl("ord", Prefixed, "User:alice", "*", Write, Deny));
        assert!(!by_type(&a), "a prefixed DENY covers the allowed name");
        a.acls.add(acl("t", Prefixed, "User:*", "*", All, Allow));
        assert!(by_type(&a), "an ALLOW of ALL on other topics");
        a.acls
            .add(acl("*", Literal, "User:alice", "*", Write, Deny));
        assert!(!by_type(&a), "a DENY of every topic");
        let ops = authorizer(vec![acl("u", Literal, "User:alice", "*", Write, Allow)])
            .authorized_operations(caller, ResourceType::Topic, "u", &[Read, Write, Describe]);
        assert_eq!(ops, 1 << 4 | 1 << 8, "WRITE and the DESCRIBE it implies");
    }

    #[test]
    fn removing_a_binding_takes_its_grant_away() {
        let grant = acl("t", PatternType::Prefixed, "User:alice", "*", Read, Allow);
        let mut a = authorizer(vec![grant.clone()]);
        assert!(can(&a, "User:alice", "t1", Read));
        assert!(!a.acls.add(grant.clone()), "added once");
        assert!(a.acls.remove(&grant));
        assert!(!can(&a, "User:alice", "t1", Read));
        assert!(a.acls.is_empty());
    }
}
