//! An incremental decoder for `text/event-stream` bodies (the WHATWG event-stream format).
//!
//! Pure: feed it bytes as they arrive, take whole events out. Used wherever Switchboard
//! reads server-sent events (MCP Streamable HTTP responses, the control API's event feed).
//! It keeps `event`, `data` and `id` and ignores comments and `retry`.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; empty means the default type, "message".
    pub event: String,
    pub data: String,
    pub id: Option<String>,
}

#[derive(Debug, Default)]
pub struct SseDecoder {
    buffer: Vec<u8>,
    pending: SseEvent,
    has_data: bool,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes and returns every event they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw[..end]);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if line.is_empty() {
                if self.has_data {
                    events.push(std::mem::take(&mut self.pending));
                } else {
                    self.pending = SseEvent::default();
                }
                self.has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "event" => self.pending.event = value.to_owned(),
                "data" => {
                    if self.has_data {
                        self.pending.data.push('\n');
                    }
                    self.pending.data.push_str(value);
                    self.has_data = true;
                }
                "id" if !value.contains('\0') => self.pending.id = Some(value.to_owned()),
                _ => {}
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_split_multiline_and_commented_streams() {
        let mut d = SseDecoder::new();
        assert!(d.feed(b": keep-alive\n\nevent: state_chan").is_empty());
        let got = d.feed(b"ged\r\ndata: {\"a\":\ndata: 1}\nid: 7\n\ndata:x\n\n");
        assert_eq!(
            got,
            vec![
                SseEvent {
                    event: "state_changed".into(),
                    data: "{\"a\":\n1}".into(),
                    id: Some("7".into())
                },
                SseEvent {
                    event: String::new(),
                    data: "x".into(),
                    id: None
                },
            ]
        );
        // An event with no data is not dispatched.
        assert!(d.feed(b"event: nothing\n\n").is_empty());
    }
}
