//! JSON-RPC messages as the gateway sees them: bytes it routes without re-serialising.
//!
//! A [`Frame`] is one message, kept as the bytes that arrived, except that line breaks between
//! tokens become spaces: a frame is always one line, as stdio and SSE need. Routing needs only
//! its head (id, method, whether it is a response), which [`Frame::head`] reads by borrowing
//! from those bytes. Where the gateway must change a message (a remapped id, a remapped
//! progress token) it splices the new value into the original bytes at the old value's span,
//! so params, results and any field the gateway does not know pass through byte for byte.
//! What the messages *mean* (sessions, routing tables) is the gateway's and upstream's.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

/// JSON-RPC error codes the gateway itself answers with.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL: i64 = -32603;
    /// The spec's code for a resource that does not exist.
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// Implementation-defined: the server behind the gateway is not available.
    pub const SERVER_UNAVAILABLE: i64 = -32001;
    /// Switchboard's own: an HTTP server answered 401, so it needs a (new) login.
    pub const UNAUTHORIZED: i64 = -32041;
    /// 2026-07-28: headers and body disagree, or a required header is missing.
    pub const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: the request needs a capability its client did not declare.
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
    /// 2026-07-28: the requested protocol version is not supported.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// One JSON-RPC message, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame(Bytes);

/// The routing-relevant part of a message, borrowed from its bytes.
#[derive(Debug, Deserialize)]
pub struct Head<'a> {
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
}

/// What kind of message a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Request,
    Notification,
    Response,
}

impl Head<'_> {
    pub fn kind(&self) -> Kind {
        match (&self.method, &self.id) {
            (Some(_), Some(_)) => Kind::Request,
            (Some(_), None) => Kind::Notification,
            (None, _) => Kind::Response,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("not valid JSON: {0}")]
    Parse(serde_json::Error),
    #[error("not valid JSON: the byte at offset {at} is not UTF-8")]
    NotUtf8 { at: usize },
    #[error("not a JSON-RPC message: {0}")]
    Invalid(&'static str),
}

impl FrameError {
    /// The JSON-RPC error code this failure is answered with.
    pub fn code(&self) -> i64 {
        match self {
            Self::Parse(_) | Self::NotUtf8 { .. } => code::PARSE_ERROR,
            Self::Invalid(_) => code::INVALID_REQUEST,
        }
    }
}

/// `_meta.progressToken` of a request's params, borrowed.
#[derive(Deserialize)]
struct ParamsMeta<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaFields<'a>>,
}

#[derive(Deserialize)]
struct MetaFields<'a> {
    #[serde(rename = "progressToken", borrow, default)]
    progress_token: Option<&'a RawValue>,
}

/// Fields of params that name something: a tool, a prompt, a resource, a request.
#[derive(Deserialize)]
struct ParamsNames<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    uri: Option<&'a RawValue>,
    #[serde(rename = "requestId", borrow, default)]
    request_id: Option<&'a RawValue>,
    #[serde(rename = "progressToken", borrow, default)]
    progress_token: Option<&'a RawValue>,
    #[serde(rename = "requestState", borrow, default)]
    request_state: Option<&'a RawValue>,
}

impl Frame {
    /// Checks that `bytes` hold one JSON object with a valid JSON-RPC shape.
    pub fn parse(bytes: Bytes) -> Result<Self, FrameError> {
        // Checked first: reading the head skips the fields it does not need without looking
        // inside their strings, and a message must be UTF-8 all through.
        let text = std::str::from_utf8(&bytes).map_err(|e| FrameError::NotUtf8 { at: e.valid_up_to() })?;
        // A struct also reads from a JSON array (by position), which is no message.
        if !text.trim_start().starts_with('{') {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => FrameError::Invalid("a JSON-RPC message is a JSON object"),
                Err(e) => FrameError::Parse(e),
            });
        }
        let head = serde_json::from_str::<Head<'_>>(text).map_err(|e| {
            if e.is_data() {
                FrameError::Invalid("expected an object with jsonrpc, method or result/error")
            } else {
                FrameError::Parse(e)
            }
        })?;
        if head.method.is_none() && head.result.is_none() && head.error.is_none() {
            return Err(FrameError::Invalid("neither method nor result nor error"));
        }
        Ok(Self(one_line(bytes)))
    }

    /// A frame the gateway built itself; it is trusted to be well formed.
    pub fn from_value(value: &serde_json::Value) -> Self {
        Self(Bytes::from(value.to_string()))
    }

    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The routing head. Frames are validated on construction, so this does not fail.
    pub fn head(&self) -> Head<'_> {
        serde_json::from_slice(&self.0).unwrap_or(Head {
            id: None,
            method: None,
            params: None,
            result: None,
            error: None,
        })
    }

    /// The id as raw JSON, `null` if it has none (what an error answer to it must carry).
    pub fn raw_id(&self) -> String {
        self.head()
            .id
            .map_or_else(|| "null".to_owned(), |id| id.get().to_owned())
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_slice(&self.0).unwrap_or_default()
    }

    /// This frame with its `id` replaced by `id` (raw JSON).
    pub fn with_id(&self, id: &str) -> Frame {
        match self.head().id {
            Some(old) => self.splice(vec![(self.span(old.get()), id.to_owned())]),
            None => self.clone(),
        }
    }

    /// The raw `params._meta.progressToken`, if any.
    pub fn progress_token(&self) -> Option<&str> {
        let params = self.params_object()?;
        if !params.get().contains("progressToken") {
            return None;
        }
        let parsed: ParamsMeta<'_> = serde_json::from_str(params.get()).ok()?;
        parsed.meta?.progress_token.map(RawValue::get)
    }

    /// A raw field of params: `name`, `uri`, `requestId`, `progressToken` or `requestState`.
    pub fn param(&self, field: Param) -> Option<&str> {
        let params = self.params_object()?;
        let parsed: ParamsNames<'_> = serde_json::from_str(params.get()).ok()?;
        let raw = match field {
            Param::Name => parsed.name,
            Param::Uri => parsed.uri,
            Param::RequestId => parsed.request_id,
            Param::ProgressToken => parsed.progress_token,
            Param::RequestState => parsed.request_state,
        }?;
        Some(raw.get())
    }

    /// Params when they are an object: a struct would also read an array, by position, and
    /// take its first element for a name.
    fn params_object(&self) -> Option<&RawValue> {
        self.head().params.filter(|params| params.get().starts_with('{'))
    }

    /// A string param (`name`, `uri`), unquoted.
    pub fn param_str(&self, field: Param) -> Option<String> {
        serde_json::from_str(self.param(field)?).ok()
    }

    /// Replaces `params._meta.progressToken` (in a request) with `token` (raw JSON).
    pub fn with_progress_token(&self, token: &str) -> Frame {
        match self.progress_token() {
            Some(old) => self.splice(vec![(self.span(old), token.to_owned())]),
            None => self.clone(),
        }
    }

    /// Replaces the raw param `field` with `value` (raw JSON).
    pub fn with_param(&self, field: Param, value: &str) -> Frame {
        match self.param(field) {
            Some(old) => self.splice(vec![(self.span(old), value.to_owned())]),
            None => self.clone(),
        }
    }

    /// Inserts `"key":value,` as the first member of the result object of a response.
    /// The caller checks that the result lacks `key`: a second member would be a duplicate.
    pub fn with_result_member(&self, key: &str, value: &str) -> Frame {
        let Some(result) = self.head().result else {
            return self.clone();
        };
        let raw = result.get();
        if !raw.starts_with('{') {
            return self.clone();
        }
        let at = self.span(raw).start + 1;
        let empty = raw[1..].trim_start().starts_with('}');
        let member = format!("\"{key}\":{value}{}", if empty { "" } else { "," });
        self.splice(vec![(at..at, member)])
    }

    /// The byte range of `part`, which must be a slice borrowed from this frame.
    fn span(&self, part: &str) -> Range<usize> {
        let start = part.as_ptr().addr() - self.0.as_ptr().addr();
        start..start + part.len()
    }

    fn splice(&self, mut edits: Vec<(Range<usize>, String)>) -> Frame {
        edits.sort_by_key(|(range, _)| range.start);
        let mut out = Vec::with_capacity(self.0.len() + 32);
        let mut at = 0;
        for (range, text) in edits {
            out.extend_from_slice(&self.0[at..range.start]);
            out.extend_from_slice(text.as_bytes());
            at = range.end;
        }
        out.extend_from_slice(&self.0[at..]);
        Frame(Bytes::from(out))
    }
}

/// `bytes` (valid JSON) with every CR and LF turned into a space, so the message is one line.
///
/// JSON strings cannot hold a raw CR or LF, so in valid JSON they are whitespace between
/// tokens; as spaces they mean the same, and every byte keeps its offset. A stdio server reads
/// one message per line and an SSE `data:` field ends at a line break, so a pretty-printed
/// message must not reach either with its line breaks. Copies only when there are some.
fn one_line(bytes: Bytes) -> Bytes {
    if !bytes.iter().any(|&b| b == b'\n' || b == b'\r') {
        return bytes;
    }
    let flat: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
        .collect();
    Bytes::from(flat)
}

/// A named field of a message's params.
#[derive(Clone, Copy, Debug)]
pub enum Param {
    Name,
    Uri,
    RequestId,
    ProgressToken,
    RequestState,
}

/// A JSON-RPC error response; `id` is raw JSON (`null` when the request's id is unknown).
pub fn error_response(id: &str, code: i64, message: &str) -> Frame {
    let message = serde_json::Value::from(message);
    Frame(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#
    )))
}

/// A JSON-RPC success response with a raw `result`.
pub fn result_response(id: &str, result: &str) -> Frame {
    Frame(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Frame {
        Frame::parse(Bytes::from(text.to_owned())).expect("valid frame")
    }

    /// Found by the jsonrpc_frame fuzz target: invalid UTF-8 inside a field the head skips
    /// was accepted, and forwarded; so were arrays, read as a head by position.
    #[test]
    fn only_utf8_json_objects_are_frames() {
        let bad_utf8 = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"other\":\"\x86\"}";
        let error = Frame::parse(Bytes::from_static(bad_utf8)).expect_err("not UTF-8");
        assert!(matches!(error, FrameError::NotUtf8 { at: 46 }), "{error}");
        assert_eq!(error.code(), code::PARSE_ERROR);
        for not_an_object in [r#"[null, "tools/list"]"#, r#""method""#, "3"] {
            let error = Frame::parse(Bytes::from(not_an_object)).expect_err(not_an_object);
            assert_eq!(error.code(), code::INVALID_REQUEST, "{not_an_object}: {error}");
        }
    }

    #[test]
    fn kinds_are_told_apart() {
        let cases = [
            (r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, Kind::Request),
            (
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                Kind::Notification,
            ),
            (r#"{"jsonrpc":"2.0","id":"a","result":{}}"#, Kind::Response),
            (
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"x"}}"#,
                Kind::Response,
            ),
        ];
        for (text, kind) in cases {
            assert_eq!(frame(text).head().kind(), kind, "{text}");
        }
    }

    #[test]
    fn malformed_input_is_refused_with_the_right_code() {
        let cases = [
            ("{not json", code::PARSE_ERROR),
            ("[1,2]", code::INVALID_REQUEST),
            ("42", code::INVALID_REQUEST),
            (r#"{"jsonrpc":"2.0","id":1}"#, code::INVALID_REQUEST),
        ];
        for (text, expected) in cases {
            let error = Frame::parse(Bytes::from(text)).expect_err(text);
            assert_eq!(error.code(), expected, "{text}");
        }
    }

    #[test]
    fn id_splice_keeps_every_other_byte() {
        let original =
            r#"{"params": {"x" : [1, 2.50, "é"]},  "id" : "abc", "method":"tools/call", "zz": true}"#;
        let out = frame(original).with_id("17");
        assert_eq!(
            std::str::from_utf8(out.bytes()).expect("utf-8"),
            r#"{"params": {"x" : [1, 2.50, "é"]},  "id" : 17, "method":"tools/call", "zz": true}"#
        );
    }

    #[test]
    fn progress_token_is_found_and_replaced() {
        let f = frame(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"progressToken":"p-1"}}}"#,
        );
        assert_eq!(f.progress_token(), Some(r#""p-1""#));
        let out = f.with_progress_token("99");
        assert_eq!(out.progress_token(), Some("99"));
        assert_eq!(out.param_str(Param::Name).as_deref(), Some("t"));
        assert_eq!(
            frame(r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#).progress_token(),
            None
        );
    }

    #[test]
    fn result_member_is_inserted_first() {
        let cases = [
            (
                r#"{"id":1,"result":{}}"#,
                r#"{"id":1,"result":{"resultType":"complete"}}"#,
            ),
            (
                r#"{"id":1,"result":{"a":1}}"#,
                r#"{"id":1,"result":{"resultType":"complete","a":1}}"#,
            ),
        ];
        for (input, expected) in cases {
            let out = frame(input).with_result_member("resultType", r#""complete""#);
            assert_eq!(std::str::from_utf8(out.bytes()).expect("utf-8"), expected);
        }
    }

    /// A pretty-printed message (LF or CRLF) was forwarded with its line breaks, so a stdio
    /// server read it as several broken lines and never answered.
    #[test]
    fn a_message_over_several_lines_becomes_one_line() {
        let cases = [
            "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 1,\n  \"method\": \"tools/list\"\n}\n",
            "{\r\n  \"jsonrpc\": \"2.0\",\r\n  \"id\": 1,\r\n  \"method\": \"tools/list\"\r\n}",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\r\"method\":\"tools/list\",\"params\":{\"a\":\"x\\ny\"}}",
        ];
        for text in cases {
            let f = frame(text);
            assert!(!f.bytes().iter().any(|&b| b == b'\n' || b == b'\r'), "{text:?}");
            assert_eq!(f.len(), text.len(), "every byte keeps its offset: {text:?}");
            assert_eq!(
                f.to_value(),
                serde_json::from_str::<serde_json::Value>(text).expect("json")
            );
            assert_eq!(f.head().method.as_deref(), Some("tools/list"));
        }
    }

    #[test]
    fn built_errors_are_valid_frames() {
        let e = error_response("\"x\"", code::INTERNAL, "quote \" and newline \n");
        let value = e.to_value();
        assert_eq!(value["error"]["message"], "quote \" and newline \n");
        assert_eq!(value["id"], "x");
    }

    /// Found by the jsonrpc_frame fuzz target: params given as an array were read by position,
    /// so their first element passed for a tool's name and was rewritten as one.
    #[test]
    fn params_that_are_not_an_object_name_nothing() {
        let listed = frame(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["time__now"]}"#);
        assert_eq!(listed.param(Param::Name), None);
        assert_eq!(listed.with_param(Param::Name, "\"x\""), listed);
        let named = frame(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"time__now"}}"#);
        assert_eq!(named.param_str(Param::Name).as_deref(), Some("time__now"));
    }
}
