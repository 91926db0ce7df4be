//! One Kafka request/response exchange over a stream: the client side of the framing,
//! shared by the tools' admin client and the broker's replica fetcher.
//!
//! The size a peer announces for its response is checked against the caller's bound
//! before any room is made for it, as the server checks a request's size
//! (`rafka_protocol::frame::FrameDecoder`): a peer announcing 2 GiB costs an error, not
//! 2 GiB of memory.

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use rafka_protocol::frame::{FrameDecoder, FrameError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest response read when the caller has no better bound: the server's default
/// `socket.request.max.bytes` (100 MiB), the same bound the other direction has.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 104_857_600;

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Protocol(String),
    /// The peer announced a response larger than the caller accepts; nothing of it was
    /// read, so the stream is out of step and must be dropped.
    #[error("response to {api_key:?} of {size} bytes exceeds the limit of {max} bytes")]
    ResponseTooLarge {
        api_key: ApiKey,
        size: usize,
        max: usize,
    },
    #[error("response to {api_key:?} announces a negative size {size}")]
    NegativeResponseSize { api_key: ApiKey, size: i32 },
}

/// Sends `request` as `api_key` at `version` with `correlation_id` and reads its
/// response, refusing one announced larger than `max_response_bytes`. One exchange at a
/// time per stream.
pub async fn exchange<S, Req, Resp>(
    stream: &mut S,
    client_id: &str,
    correlation_id: i32,
    api_key: ApiKey,
    version: i16,
    request: &Req,
    max_response_bytes: usize,
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
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
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
    // TLS holds what it encrypted until flushed; plain TCP's flush is free.
    stream.flush().await?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).await?;
    let size = response_size(size, api_key, max_response_bytes)?;
    let mut response = vec![0u8; size];
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

/// The size a response's 4-byte prefix announces, once it is known to be at most
/// `max_response_bytes`: the server's frame check, with the response's words.
fn response_size(
    prefix: [u8; 4],
    api_key: ApiKey,
    max_response_bytes: usize,
) -> Result<usize, ExchangeError> {
    match FrameDecoder::new(max_response_bytes).peek_size(&prefix) {
        Ok(Some(size)) => Ok(size),
        Ok(None) => unreachable!("a 4-byte prefix is a whole size"),
        Err(FrameError::TooLarge { size, max }) => {
            Err(ExchangeError::ResponseTooLarge { api_key, size, max })
        }
        Err(FrameError::NegativeSize { size }) => {
            Err(ExchangeError::NegativeResponseSize { api_key, size })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
    use tokio::io::ReadBuf;

    use super::*;

    /// A peer that swallows the request, announces a response of `announced` bytes, then
    /// offers a megabyte of it and closes, counting how many bytes were read from it.
    #[derive(Debug)]
    struct Announcing {
        prefix: [u8; 4],
        read: usize,
    }

    impl Announcing {
        fn new(announced: i32) -> Announcing {
            Announcing {
                prefix: announced.to_be_bytes(),
                read: 0,
            }
        }
    }

    impl AsyncRead for Announcing {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            const OFFERED_BYTES: usize = 4 + 1024 * 1024;
            while buf.remaining() > 0 && self.read < OFFERED_BYTES {
                let byte = self.prefix.get(self.read).copied().unwrap_or(0);
                buf.put_slice(&[byte]);
                self.read += 1;
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Announcing {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    async fn api_versions(
        peer: &mut Announcing,
        max_response_bytes: usize,
    ) -> Result<ApiVersionsResponse, ExchangeError> {
        exchange(
            peer,
            "test",
            1,
            ApiKey::ApiVersions,
            3,
            &ApiVersionsRequest::default(),
            max_response_bytes,
        )
        .await
    }

    /// Unbounded, this made a 2 GiB buffer for the announced body and read the peer's
    /// bytes into it until the peer closed. Bounded, only the 4-byte size prefix is
    /// read: the error comes before the body's buffer would be made.
    #[tokio::test]
    async fn oversized_response_is_refused_before_its_bytes_are_read() {
        let mut peer = Announcing::new(i32::MAX);
        let error = api_versions(&mut peer, 1024 * 1024).await.unwrap_err();
        match error {
            ExchangeError::ResponseTooLarge { api_key, size, max } => {
                assert_eq!(api_key, ApiKey::ApiVersions);
                assert_eq!(size, i32::MAX as usize);
                assert_eq!(max, 1024 * 1024);
            }
            other => panic!("expected ResponseTooLarge, got {other:?}"),
        }
        assert_eq!(peer.read, 4, "only the size prefix is read");
    }

    #[test]
    fn response_size_is_bounded_inclusively_and_never_negative() {
        let size = |announced: i32| response_size(announced.to_be_bytes(), ApiKey::Fetch, 100);
        assert_eq!(size(100).unwrap(), 100);
        assert_eq!(size(0).unwrap(), 0);
        assert!(matches!(
            size(101),
            Err(ExchangeError::ResponseTooLarge {
                size: 101,
                max: 100,
                ..
            })
        ));
        assert!(matches!(
            size(-1),
            Err(ExchangeError::NegativeResponseSize { size: -1, .. })
        ));
        assert_eq!(
            size(i32::MAX).unwrap_err().to_string(),
            "response to Fetch of 2147483647 bytes exceeds the limit of 100 bytes"
        );
    }

    /// A response within the bound is read and decoded as before.
    #[tokio::test]
    async fn response_within_the_bound_is_read_whole() {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        let peer = tokio::spawn(async move {
            let mut size = [0u8; 4];
            server.read_exact(&mut size).await.unwrap();
            let mut request = vec![0u8; i32::from_be_bytes(size) as usize];
            server.read_exact(&mut request).await.unwrap();
            let mut body = BytesMut::new();
            ResponseHeader::default()
                .with_correlation_id(7)
                .encode(&mut body, ApiKey::ApiVersions.response_header_version(3))
                .unwrap();
            ApiVersionsResponse::default()
                .with_throttle_time_ms(42)
                .encode(&mut body, 3)
                .unwrap();
            server
                .write_all(&(body.len() as i32).to_be_bytes())
                .await
                .unwrap();
            server.write_all(&body).await.unwrap();
        });
        let response: ApiVersionsResponse = exchange(
            &mut client,
            "test",
            7,
            ApiKey::ApiVersions,
            3,
            &ApiVersionsRequest::default(),
            DEFAULT_MAX_RESPONSE_BYTES,
        )
        .await
        .unwrap();
        peer.await.unwrap();
        assert_eq!(response.throttle_time_ms, 42);
    }
}
