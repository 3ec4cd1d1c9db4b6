//! The gateway's JSON-RPC framing: what `Frame::parse` accepts, and the in-place edits the
//! gateway makes to forwarded messages (ids, progress tokens, named params, result members).
#![no_main]

use bytes::Bytes;
use serde_json::Value;
use switchboard_mcp::jsonrpc::{Frame, Kind, Param, error_response};

fn parsed(frame: &Frame, what: &str) -> Frame {
    match Frame::parse(frame.bytes().clone()) {
        Ok(frame) => frame,
        Err(e) => panic!("{what} made an invalid frame ({e}): {:?}", frame.bytes()),
    }
}

/// The message without `key` at the top level, or inside params when `in_params`.
fn without(frame: &Frame, key: &str, in_params: bool) -> Value {
    let mut value = frame.to_value();
    let target = if in_params {
        value.get_mut("params")
    } else {
        Some(&mut value)
    };
    if let Some(Value::Object(members)) = target {
        members.remove(key);
    }
    value
}

/// Whether a `\uXXXX` escape in `json` is half of a surrogate pair without its other half.
/// JSON's grammar allows it; serde_json refuses it, with one of several messages.
fn has_lone_surrogate(json: &[u8]) -> bool {
    let escape = |at: usize| -> Option<u16> {
        let hex = json.get(at..at + 6)?.strip_prefix(b"\\u")?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let mut at = 0;
    while at < json.len() {
        if json[at] != b'\\' {
            at += 1;
            continue;
        }
        match escape(at) {
            Some(0xD800..=0xDBFF) => match escape(at + 6) {
                Some(0xDC00..=0xDFFF) => at += 12,
                _ => return true,
            },
            Some(0xDC00..=0xDFFF) => return true,
            Some(_) => at += 6,
            None => at += 2,
        }
    }
    false
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(frame) = Frame::parse(Bytes::copy_from_slice(data)) else {
        return;
    };
    let value = match serde_json::from_slice::<Value>(frame.bytes()) {
        Ok(value) => value,
        // JSON's grammar allows numbers beyond f64 and escapes of lone surrogates, which
        // serde_json's values refuse (RFC 8259 lets a reader): the gateway routes such frames
        // as bytes, but they cannot be compared as values here.
        Err(e) if e.to_string().contains("number out of range") || has_lone_surrogate(frame.bytes()) => {
            return;
        }
        Err(e) => panic!("accepted a frame that is not JSON ({e}): {:?}", frame.bytes()),
    };
    assert!(
        value.is_object(),
        "accepted a frame that is not one JSON object: {:?}",
        frame.bytes()
    );
    // A stdio server reads one message per line, and SSE data ends at a line break.
    assert!(
        !frame.bytes().iter().any(|&b| b == b'\n' || b == b'\r'),
        "a frame kept a line break: {:?}",
        frame.bytes()
    );
    let head = frame.head();
    let kind = head.kind();

    // An answer the gateway builds for this frame is itself valid.
    let error = error_response(&frame.raw_id(), -32600, "bad \"request\"\n");
    assert_eq!(parsed(&error, "an error answer").head().kind(), Kind::Response);

    // The id splice changes the id and nothing else.
    if head.id.is_some() {
        let renamed = parsed(&frame.with_id("\"sb-1\""), "replacing the id");
        assert_eq!(renamed.raw_id(), "\"sb-1\"");
        assert_eq!(renamed.head().kind(), kind);
        assert_eq!(without(&renamed, "id", false), without(&frame, "id", false));
        assert_eq!(
            parsed(&renamed.with_id(&frame.raw_id()), "restoring the id").to_value(),
            value
        );
    }

    if frame.progress_token().is_some() {
        let remapped = parsed(&frame.with_progress_token("42"), "replacing the progress token");
        assert_eq!(remapped.progress_token(), Some("42"));
    }

    for (field, key) in [
        (Param::Name, "name"),
        (Param::Uri, "uri"),
        (Param::RequestId, "requestId"),
        (Param::ProgressToken, "progressToken"),
    ] {
        if frame.param(field).is_some() {
            let replaced = parsed(&frame.with_param(field, "\"sb__x\""), "replacing a param");
            assert_eq!(replaced.param_str(field).as_deref(), Some("sb__x"));
            assert_eq!(without(&replaced, key, true), without(&frame, key, true));
        }
    }

    // Callers add a member only when the result lacks it (a second one would be a duplicate key).
    let lacks_member = value["result"].get("_sb").is_none();
    if kind == Kind::Response && lacks_member && head.result.is_some_and(|r| r.get().starts_with('{')) {
        let added = parsed(&frame.with_result_member("_sb", "1"), "adding a result member");
        assert_eq!(added.to_value()["result"]["_sb"], 1);
    }
});
