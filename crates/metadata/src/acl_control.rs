//! The controller's part of CreateAcls and DeleteAcls (Kafka's `AclControlManager`):
//! the records that add new bindings, each with a fresh id, and that remove bindings by
//! id. The brokers validate bindings and match filters (they have the authorizer's
//! model); the controller only keeps the set free of duplicates.

use std::collections::BTreeMap;

use crate::records::{AccessControlEntryRecord, MetadataRecord};

/// The records that add `acls`: a binding already stored (or twice in the request) is
/// added once, as Kafka's controller skips an existing binding. Their `id`s are
/// ignored; each new binding gets a random one.
pub fn create_acls(
    existing: &BTreeMap<uuid::Uuid, AccessControlEntryRecord>,
    acls: Vec<AccessControlEntryRecord>,
) -> Vec<MetadataRecord> {
    let mut added: Vec<AccessControlEntryRecord> = Vec::new();
    for acl in acls {
        let present = existing
            .values()
            .chain(&added)
            .any(|e| e.same_binding(&acl));
        if !present {
            added.push(AccessControlEntryRecord {
                id: uuid::Uuid::new_v4(),
                ..acl
            });
        }
    }
    added
        .into_iter()
        .map(MetadataRecord::AccessControlEntry)
        .collect()
}

/// The records that remove the bindings of `ids` still stored.
pub fn delete_acls(
    existing: &BTreeMap<uuid::Uuid, AccessControlEntryRecord>,
    ids: &[uuid::Uuid],
) -> Vec<MetadataRecord> {
    let mut ids: Vec<uuid::Uuid> = ids
        .iter()
        .copied()
        .filter(|id| existing.contains_key(id))
        .collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| MetadataRecord::RemoveAccessControlEntry { id })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ClusterImage;

    fn acl(name: &str, operation: i8) -> AccessControlEntryRecord {
        AccessControlEntryRecord {
            id: uuid::Uuid::nil(),
            resource_type: 2,
            resource_name: name.into(),
            pattern_type: 3,
            principal: "User:alice".into(),
            host: "*".into(),
            operation,
            permission_type: 3,
        }
    }

    #[test]
    fn created_bindings_get_ids_once_and_deletions_remove_them_from_the_image() {
        let mut image = ClusterImage::default();
        let records = create_acls(&image.acls, vec![acl("t", 3), acl("t", 3), acl("u", 4)]);
        assert_eq!(records.len(), 2, "a duplicate in the request is added once");
        image.apply_entry(1, &records);
        assert_eq!(image.acls.len(), 2);
        assert!(image.acls.keys().all(|id| !id.is_nil()));
        assert!(
            create_acls(&image.acls, vec![acl("t", 3)]).is_empty(),
            "a stored binding is not added again"
        );
        let t_id = *image
            .acls
            .iter()
            .find(|(_, a)| a.resource_name == "t")
            .unwrap()
            .0;
        let unknown = uuid::Uuid::new_v4();
        let records = delete_acls(&image.acls, &[t_id, t_id, unknown]);
        assert_eq!(
            records,
            vec![MetadataRecord::RemoveAccessControlEntry { id: t_id }]
        );
        image.apply_entry(2, &records);
        assert_eq!(
            image
                .acls
                .values()
                .map(|a| a.resource_name.as_str())
                .collect::<Vec<_>>(),
            ["u"]
        );
        // The records travel as JSON in the metadata log: they come back the same.
        let json = serde_json::to_string(&MetadataRecord::AccessControlEntry(acl("x", 5))).unwrap();
        assert_eq!(
            serde_json::from_str::<MetadataRecord>(&json).unwrap(),
            MetadataRecord::AccessControlEntry(acl("x", 5))
        );
    }
}
