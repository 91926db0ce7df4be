//! The SCRAM users the broker authenticates: read from the metadata image (the quorum's
//! in a cluster, `rafka-metadata.json` on a single node) and changed by
//! AlterUserScramCredentials through the same records (Kafka's
//! `UserScramCredentialRecord` / `RemoveUserScramCredentialRecord`).

use rafka_metadata::rpc::BrokerRequest;
use rafka_metadata::MetadataRecord;
use rafka_security::sasl::ScramCredentials;
use rafka_security::scram::{ScramCredential, ScramMechanism};

use crate::broker::Broker;
use crate::error::ApiError;
use crate::storage::ScramCredentials as CredentialsByUser;

impl Broker {
    /// Every user's SCRAM credentials, by user then mechanism name.
    pub fn scram_credentials(&self) -> CredentialsByUser {
        match &self.cluster {
            Some(cluster) => cluster.image().scram_credentials.clone(),
            None => self.image.lock().scram_credentials.clone(),
        }
    }

    /// Commits SCRAM credential records (already validated), all or none.
    pub async fn alter_scram_credentials(
        &self,
        records: Vec<MetadataRecord>,
    ) -> Result<(), ApiError> {
        if records.is_empty() {
            return Ok(());
        }
        if let Some(cluster) = &self.cluster {
            return cluster
                .forward(BrokerRequest::AlterScramCredentials { records })
                .await;
        }
        let mut image = self.image.lock();
        let mut next = image.clone();
        for record in &records {
            rafka_metadata::image::apply_scram(&mut next.scram_credentials, record);
        }
        self.save_metadata(&mut image, next)
    }
}

impl ScramCredentials for Broker {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        let lookup = |all: &CredentialsByUser| all.get(user)?.get(mechanism.name()).cloned();
        match &self.cluster {
            Some(cluster) => lookup(&cluster.image().scram_credentials),
            None => lookup(&self.image.lock().scram_credentials),
        }
    }
}
