//! What a stateless result carries beyond the server's answer: its `resultType`, and for the
//! results a client may cache (discover, the lists, `resources/read`) how long and for whom.
//!
//! A server's own hints pass through. Where it gives none (every session-era server), the
//! gateway says "do not reuse, and only for this client": what a client sees depends on its
//! token, and servers change their lists when they restart or are added. An `input_required`
//! result is never cacheable and gets no hints.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;
use switchboard_mcp::jsonrpc::Frame;

/// The methods whose complete results carry caching hints (`server/discover` is built here).
pub(super) const CACHEABLE: [&str; 5] = [
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// The hints the gateway gives where a server gives none.
pub(super) const TTL_MS: u64 = 0;
pub(super) const SCOPE: &str = "private";

/// The top-level members of a result that say what it is.
#[derive(Deserialize, Default)]
struct Marks<'a> {
    #[serde(rename = "resultType", borrow)]
    result_type: Option<Cow<'a, str>>,
    #[serde(rename = "ttlMs")]
    ttl_ms: Option<IgnoredAny>,
    #[serde(rename = "cacheScope")]
    cache_scope: Option<IgnoredAny>,
}

fn marks(frame: &Frame) -> Marks<'_> {
    frame
        .head()
        .result
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default()
}

/// Results of the stateless revision carry `resultType`; older servers do not send it.
pub(super) fn mark_complete(frame: Frame) -> Frame {
    let typed = marks(&frame).result_type.is_some();
    match typed {
        true => frame,
        false => frame.with_result_member("resultType", "\"complete\""),
    }
}

/// A cacheable method's result: `resultType`, and when complete, `ttlMs` and `cacheScope`.
pub(super) fn mark_cacheable(frame: Frame) -> Frame {
    let (result_type, has_ttl, has_scope) = {
        let marks = marks(&frame);
        let result_type = marks.result_type.map(|t| t.into_owned());
        (result_type, marks.ttl_ms.is_some(), marks.cache_scope.is_some())
    };
    if result_type.as_deref() == Some("input_required") {
        return frame;
    }
    let mut frame = frame;
    if !has_scope {
        frame = frame.with_result_member("cacheScope", &format!("\"{SCOPE}\""));
    }
    if !has_ttl {
        frame = frame.with_result_member("ttlMs", &TTL_MS.to_string());
    }
    if result_type.is_none() {
        frame = frame.with_result_member("resultType", "\"complete\"");
    }
    frame
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;
    use serde_json::{Value, json};

    use super::*;

    fn result_of(frame: Frame) -> Value {
        frame.to_value()["result"].take()
    }

    fn frame(result: Value) -> Frame {
        let text = json!({"jsonrpc": "2.0", "id": 1, "result": result}).to_string();
        Frame::parse(Bytes::from(text)).expect("a frame")
    }

    #[test]
    fn a_list_without_hints_gets_the_gateways() {
        let out = result_of(mark_cacheable(frame(json!({"tools": []}))));
        assert_eq!(
            out,
            json!({"tools": [], "resultType": "complete", "ttlMs": 0, "cacheScope": "private"})
        );
    }

    /// A tool whose schema mentions the members is still a result without them.
    #[test]
    fn only_top_level_members_count() {
        let tools = json!([{"name": "t", "inputSchema": {"properties": {"ttlMs": {}, "resultType": {}}}}]);
        let out = result_of(mark_cacheable(frame(json!({"tools": tools}))));
        assert_eq!(out["ttlMs"], 0, "{out}");
        assert_eq!(out["resultType"], "complete", "{out}");
    }

    #[test]
    fn a_servers_own_hints_pass_through() {
        let given = json!({"contents": [], "resultType": "complete", "ttlMs": 60000, "cacheScope": "public"});
        assert_eq!(result_of(mark_cacheable(frame(given.clone()))), given);
    }

    #[test]
    fn input_required_is_never_cacheable() {
        let given = json!({"resultType": "input_required", "inputRequests": {}});
        assert_eq!(result_of(mark_cacheable(frame(given.clone()))), given);
        assert_eq!(result_of(mark_complete(frame(given.clone()))), given);
    }

    #[test]
    fn errors_are_left_alone() {
        let text = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#;
        let error = Frame::parse(Bytes::from(text)).expect("a frame");
        assert_eq!(mark_cacheable(error.clone()).bytes(), error.bytes());
    }
}
