//! One Kafka request/response exchange over a stream: the client side of the framing,
//! shared by the tools' admin client and the broker's replica fetcher.

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Protocol(String),
}

/// Sends `request` as `api_key` at `version` with `correlation_id` and reads its
/// response. One exchange at a time per stream.
pub async fn exchange<S, Req, Resp>(
    stream: &mut S,
    client_id: &'static str,
    correlation_id: i32,
    api_key: ApiKey,
    version: i16,
    request: &Req,
) -> Result<Resp, ExchangeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    Req: Encodable,
    Resp: Decodable,
{
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str(client_id)));
    let mut body = BytesMut::new();
    let encode = |e: String| ExchangeError::Protocol(format!("cannot encode {api_key:?}: {e}"));
    header
        .encode(&mut body, api_key.request_header_version(version))
        .map_err(|e| encode(e.to_string()))?;
    request
        .encode(&mut body, version)
        .map_err(|e| encode(e.to_string()))?;
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).await?;
    let mut response = vec![0u8; i32::from_be_bytes(size).max(0) as usize];
    stream.read_exact(&mut response).await?;
    let mut response = bytes::Bytes::from(response);
    let bad = |e: String| ExchangeError::Protocol(format!("bad {api_key:?} response: {e}"));
    let header = ResponseHeader::decode(&mut response, api_key.response_header_version(version))
        .map_err(|e| bad(e.to_string()))?;
    if header.correlation_id != correlation_id {
        return Err(ExchangeError::Protocol("response out of order".into()));
    }
    let decoded = Resp::decode(&mut response, version).map_err(|e| bad(e.to_string()))?;
    debug_assert_eq!(response.remaining(), 0);
    Ok(decoded)
}
