//! Server-sent events as the gateway writes them: one `message` event per frame, with
//! `<stream>-<seq>` ids a client can resume from, priming events for clients of 2025-11-25,
//! and keep-alive comments while a stream is quiet.
//!
//! Which events a stream holds, and when it ends, is [`crate::session`]'s.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures_util::StreamExt as _;

use super::KEEP_ALIVE;
use crate::session::{Next, Session, Stream};

/// How long a client should wait before reconnecting to a stream it lost, in milliseconds.
const RECONNECT_AFTER_MS: u32 = 1000;

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Priming {
    Send,
    Skip,
}

/// One SSE `message` event carrying `data`, with an id if the stream is resumable.
///
/// Frames are one line already; should data ever hold a line break, each of its lines is a
/// `data:` field of its own, which a reader joins back with LF, so the event stays whole.
pub(super) fn sse_event(id: Option<String>, data: &[u8]) -> Bytes {
    let mut event = Vec::with_capacity(data.len() + 48);
    if let Some(id) = id {
        event.extend_from_slice(format!("id: {id}\n").as_bytes());
    }
    event.extend_from_slice(b"event: message\n");
    for line in sse_lines(data) {
        event.extend_from_slice(b"data: ");
        event.extend_from_slice(line);
        event.push(b'\n');
    }
    event.push(b'\n');
    Bytes::from(event)
}

/// `data` split at CRLF, LF and lone CR, the line breaks of an event stream.
fn sse_lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.iter().position(|&b| b == b'\n' || b == b'\r') {
            None => rest.take(),
            Some(at) => {
                let skip = if text[at..].starts_with(b"\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
        }
    })
}

pub(super) const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

/// `response` with `guard` held until its body is done or dropped (the client went away).
pub(super) fn holding<G: Send + Sync + 'static>(response: Response, guard: G) -> Response {
    let (parts, body) = response.into_parts();
    let body = Body::from_stream(body.into_data_stream().map(move |chunk| {
        let _keep = &guard;
        chunk
    }));
    Response::from_parts(parts, body)
}

pub(super) fn sse_response(
    session: Option<&Arc<Session>>,
    stream: Arc<Stream>,
    after: u64,
    priming: Priming,
) -> Response {
    // Sequence numbers start at 1, so `<stream>-0` names the position before every event.
    let priming = (priming == Priming::Send).then(|| {
        Bytes::from(format!(
            "id: {}-0\nretry: {RECONNECT_AFTER_MS}\ndata: \n\n",
            stream.id
        ))
    });
    let events = stream_events(session, stream, after);
    let body = futures_util::stream::iter(priming)
        .chain(events)
        .map(Ok::<_, Infallible>);
    sse_headers(Response::new(Body::from_stream(body)))
}

/// The SSE events of `stream` after sequence number `after`, with keep-alive comments while it
/// is quiet; the session forgets the stream once it is finished and read.
pub(super) fn stream_events(
    session: Option<&Arc<Session>>,
    stream: Arc<Stream>,
    after: u64,
) -> impl futures_util::Stream<Item = Bytes> + Send + 'static {
    let session = session.map(Arc::downgrade);
    futures_util::stream::unfold((stream, after), move |(stream, after)| {
        let session = session.clone();
        async move {
            match stream.next_after(after, KEEP_ALIVE).await {
                Some(Next::Event(seq, data)) => {
                    let event = sse_event(Some(format!("{}-{seq}", stream.id)), &data);
                    Some((event, (stream, seq)))
                }
                Some(Next::Finished) => {
                    if let Some(session) = session.as_ref().and_then(std::sync::Weak::upgrade) {
                        session.drop_stream(stream.id);
                    }
                    None
                }
                None => Some((Bytes::from_static(KEEP_ALIVE_COMMENT), (stream, after))),
            }
        }
    })
}

pub(super) fn sse_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

#[cfg(test)]
mod tests {
    use switchboard_model::sse::SseDecoder;

    use super::sse_event;

    /// Data with line breaks was copied into one `data:` field, so a reader saw a cut event
    /// and stray fields.
    #[test]
    fn an_event_carries_data_over_several_lines_whole() {
        for (data, read_back) in [
            ("{\"id\":1}", "{\"id\":1}"),
            ("{\n\"id\": 1\n}", "{\n\"id\": 1\n}"),
            ("{\r\n\"id\": 1\r\n}", "{\n\"id\": 1\n}"),
            ("{\r\"id\": 1}", "{\n\"id\": 1}"),
        ] {
            let events = SseDecoder::new().feed(&sse_event(Some("s-1".into()), data.as_bytes()));
            assert_eq!(events.len(), 1, "{data:?}");
            assert_eq!(events[0].data, read_back, "{data:?}");
            assert_eq!(events[0].id.as_deref(), Some("s-1"));
        }
    }
}
