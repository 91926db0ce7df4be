//! The generated service traits implemented over the call modules: each method converts
//! its request, calls the module that owns it, and maps the error to a status.

use std::pin::Pin;
use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use super::admin;
use super::clients::Clients;
use super::fetch;
use super::pb::admin_server::Admin;
use super::pb::rafka_server::Rafka;
use super::pb::{
    CommitRequest, CommitResponse, CreateTopicRequest, DeleteTopicRequest, DeleteTopicResponse,
    DescribeTopicRequest, FetchRequest, FetchResponse, ListTopicsRequest, ListTopicsResponse,
    ProduceRequest, ProduceResponse, SubscribeRequest, SubscribeResponse, TopicDescription,
};
use super::produce::Produced;
use super::subscribe::{self, Subscriptions};

/// One service instance: its Kafka clients and its subscriptions. Cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct Service {
    pub(super) clients: Arc<Clients>,
    pub(super) subscriptions: Arc<Subscriptions>,
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Rafka for Service {
    async fn produce(&self, request: Request<ProduceRequest>) -> Answer<ProduceResponse> {
        let mut produced = Produced::new(self.clients.clone());
        produced.enqueue(request.into_inner()).await?;
        Ok(Response::new(produced.finish().await))
    }

    async fn produce_stream(
        &self,
        request: Request<Streaming<ProduceRequest>>,
    ) -> Answer<ProduceResponse> {
        let mut stream = request.into_inner();
        let mut produced = Produced::new(self.clients.clone());
        while let Some(request) = stream.message().await? {
            produced.enqueue(request).await?;
        }
        Ok(Response::new(produced.finish().await))
    }

    type SubscribeStream =
        Pin<Box<dyn tokio_stream::Stream<Item = Result<SubscribeResponse, Status>> + Send>>;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Answer<Self::SubscribeStream> {
        let stream = subscribe::subscribe(
            self.clients.clone(),
            self.subscriptions.clone(),
            request.into_inner(),
        )
        .await?;
        Ok(Response::new(Box::pin(stream)))
    }

    async fn commit(&self, request: Request<CommitRequest>) -> Answer<CommitResponse> {
        subscribe::commit(
            self.clients.clone(),
            self.subscriptions.clone(),
            request.into_inner(),
        )
        .await?;
        Ok(Response::new(CommitResponse {}))
    }

    async fn fetch(&self, request: Request<FetchRequest>) -> Answer<FetchResponse> {
        Ok(Response::new(
            fetch::fetch(self.clients.clone(), request.into_inner()).await?,
        ))
    }
}

#[tonic::async_trait]
impl Admin for Service {
    async fn create_topic(&self, request: Request<CreateTopicRequest>) -> Answer<TopicDescription> {
        Ok(Response::new(
            admin::create_topic(self.clients.clone(), request.into_inner()).await?,
        ))
    }

    async fn delete_topic(
        &self,
        request: Request<DeleteTopicRequest>,
    ) -> Answer<DeleteTopicResponse> {
        admin::delete_topic(self.clients.clone(), request.into_inner().name).await?;
        Ok(Response::new(DeleteTopicResponse {}))
    }

    async fn list_topics(&self, request: Request<ListTopicsRequest>) -> Answer<ListTopicsResponse> {
        Ok(Response::new(
            admin::list_topics(self.clients.clone(), request.into_inner()).await?,
        ))
    }

    async fn describe_topic(
        &self,
        request: Request<DescribeTopicRequest>,
    ) -> Answer<TopicDescription> {
        Ok(Response::new(
            admin::describe_topic(self.clients.clone(), request.into_inner().name).await?,
        ))
    }
}
