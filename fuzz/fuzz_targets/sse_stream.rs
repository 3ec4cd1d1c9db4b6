//! Event-stream framing, as the gateway reads upstream Streamable HTTP answers: however the
//! bytes are split into reads, the same events come out.
#![no_main]

use switchboard_model::sse::SseDecoder;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let whole = SseDecoder::new().feed(body);

    let mut split = SseDecoder::new();
    let at = usize::from(cut).min(body.len());
    let mut events = split.feed(&body[..at]);
    events.extend(split.feed(&body[at..]));
    assert_eq!(events, whole, "splitting the stream at {at} changed its events");

    let mut bytewise = SseDecoder::new();
    let events: Vec<_> = body
        .iter()
        .flat_map(|b| bytewise.feed(std::slice::from_ref(b)))
        .collect();
    assert_eq!(
        events, whole,
        "feeding the stream byte by byte changed its events"
    );
});
