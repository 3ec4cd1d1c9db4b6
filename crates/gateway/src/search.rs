//! Search mode's tools and their ranking: a profile in search mode offers its clients three
//! tools in place of its full list (find tools by a query, describe one, call one by name).
//!
//! Ranking is Okapi BM25 from the `bm25` crate (English stemming and stop words) over each
//! tool's name, title, description and the names and descriptions of its arguments; names
//! are split into words first (`get_current_time`, `listIssues`). The index is built per
//! query: a client's list is at most a few hundred tools, which takes well under a
//! millisecond. Which tools a client may find, and how a call reaches the real tool, are
//! [`crate::route`]'s: a found tool is called through the same routing, profile and history
//! as a listed one.

use bm25::{Document, Language, SearchEngineBuilder};
use serde_json::{Value, json};

/// Finds tools by a query.
pub const SEARCH_TOOLS: &str = "search_tools";
/// A tool's whole definition.
pub const DESCRIBE_TOOL: &str = "describe_tool";
/// Calls a tool by name.
pub const CALL_TOOL: &str = "call_tool";

/// How many tools a search returns unless it asks otherwise, and at most.
const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: usize = 20;

/// Whether `name` is one of search mode's own tools.
pub fn is_own(name: &str) -> bool {
    [SEARCH_TOOLS, DESCRIBE_TOOL, CALL_TOOL].contains(&name)
}

/// The tools a client in search mode lists.
pub fn tools() -> Vec<Value> {
    vec![
        json!({
            "name": SEARCH_TOOLS,
            "title": "Search tools",
            "description": "Find the tools that can do a task, by words describing it. Returns the best matches with their names, descriptions and input schemas; call one with call_tool.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What the tool should do, in plain words."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "How many tools to return (default 5)."}
                },
                "required": ["query"]
            },
            "annotations": {"readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
        }),
        json!({
            "name": DESCRIBE_TOOL,
            "title": "Describe a tool",
            "description": "The whole definition of a tool found with search_tools: its input and output schemas and behaviour hints.",
            "inputSchema": {
                "type": "object",
                "properties": {"name": {"type": "string", "description": "The tool's name, as search_tools gave it."}},
                "required": ["name"]
            },
            "annotations": {"readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
        }),
        json!({
            "name": CALL_TOOL,
            "title": "Call a tool",
            "description": "Call a tool found with search_tools, by its name, with the arguments its input schema asks for.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "The tool's name, as search_tools gave it."},
                    "arguments": {"type": "object", "description": "The tool's arguments."}
                },
                "required": ["name"]
            }
        }),
    ]
}

/// What `search_tools` called with `arguments` answers over `offered` (definitions as the
/// client would list them): a tool result, an error result for bad arguments.
pub fn search(offered: &[Value], arguments: &Value) -> Value {
    let Some(query) = arguments["query"].as_str().filter(|q| !q.trim().is_empty()) else {
        return error("search_tools needs a query: words describing what the tool should do");
    };
    let limit = arguments["limit"]
        .as_u64()
        .map_or(DEFAULT_LIMIT, |l| usize::try_from(l).unwrap_or(MAX_LIMIT))
        .clamp(1, MAX_LIMIT);
    let found: Vec<Value> = rank(offered, query, limit)
        .into_iter()
        .map(|at| summary(&offered[at]))
        .collect();
    let text = match found.is_empty() {
        true => format!("No tool matches {query:?}. Try other words."),
        false => Value::from(found.clone()).to_string(),
    };
    json!({
        "content": [{"type": "text", "text": text}],
        "structuredContent": {"tools": found},
    })
}

/// What `describe_tool` answers: the named tool's definition, or an error result.
pub fn describe(offered: &[Value], arguments: &Value) -> Value {
    let Some(name) = arguments["name"].as_str() else {
        return error("describe_tool needs the name of a tool, as search_tools gave it");
    };
    match offered.iter().find(|tool| tool["name"] == name) {
        Some(tool) => json!({
            "content": [{"type": "text", "text": tool.to_string()}],
            "structuredContent": tool,
        }),
        None => error(&format!(
            "No tool is named {name:?}; search_tools finds tools by what they do"
        )),
    }
}

/// The positions in `offered` of the tools matching `query` best, best first.
fn rank(offered: &[Value], query: &str, limit: usize) -> Vec<usize> {
    let documents = offered
        .iter()
        .enumerate()
        .map(|(at, tool)| Document::new(at, text_of(tool)));
    let engine = SearchEngineBuilder::<usize>::with_documents(Language::English, documents).build();
    engine
        .search(&words(query), limit)
        .into_iter()
        .map(|found| found.document.id)
        .collect()
}

/// The words a tool is found by. Its name counts twice: a query naming it should find it.
fn text_of(tool: &Value) -> String {
    let mut parts = Vec::new();
    let name = tool["name"].as_str().unwrap_or_default();
    parts.extend([name, name]);
    parts.extend(["title", "description"].map(|key| tool[key].as_str().unwrap_or_default()));
    if let Some(properties) = tool["inputSchema"]["properties"].as_object() {
        for (argument, schema) in properties {
            parts.push(argument);
            parts.extend(schema["description"].as_str());
        }
    }
    words(&parts.join(" "))
}

/// `text` with identifiers split into words: `get_current_time` and `getCurrentTime` become
/// `get current time`.
fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut previous = ' ';
    for c in text.chars() {
        match c {
            '_' | '-' | '.' | '/' | ':' => out.push(' '),
            _ if c.is_uppercase() && previous.is_lowercase() => {
                out.push(' ');
                out.push(c);
            }
            _ => out.push(c),
        }
        previous = c;
    }
    out
}

/// A found tool as a search lists it.
fn summary(tool: &Value) -> Value {
    let mut found = json!({"name": tool["name"], "description": tool["description"]});
    for key in ["title", "inputSchema"] {
        if !tool[key].is_null() {
            found[key] = tool[key].clone();
        }
    }
    found
}

/// A tool result that tells the model what went wrong.
pub fn error(message: &str) -> Value {
    json!({"content": [{"type": "text", "text": message}], "isError": true})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, description: &str) -> Value {
        json!({"name": name, "description": description, "inputSchema": {"type": "object"}})
    }

    fn names(result: &Value) -> Vec<String> {
        result["structuredContent"]["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn catalog() -> Vec<Value> {
        vec![
            tool(
                "time__get_current_time",
                "Get current time in a specific timezone",
            ),
            tool("time__convert_time", "Convert time between timezones"),
            tool(
                "github__create_issue",
                "Create a new issue in a GitHub repository",
            ),
            tool("github__listPullRequests", "List pull requests of a repository"),
            tool(
                "fs__read_file",
                "Read the complete contents of a file from the file system",
            ),
        ]
    }

    #[test]
    fn a_query_finds_the_tools_that_do_it_best_first() {
        let found = search(
            &catalog(),
            &json!({"query": "the current time in Tokyo", "limit": 2}),
        );
        assert_eq!(names(&found)[0], "time__get_current_time");
        assert!(names(&found).len() <= 2);
        let found = search(&catalog(), &json!({"query": "open an issue on github"}));
        assert_eq!(names(&found)[0], "github__create_issue");
        // Identifiers are split into words, stems match.
        let found = search(&catalog(), &json!({"query": "pull request"}));
        assert_eq!(names(&found)[0], "github__listPullRequests");
        assert_eq!(
            found["structuredContent"]["tools"][0]["inputSchema"]["type"],
            "object"
        );
    }

    #[test]
    fn a_query_that_matches_nothing_says_so_and_bad_arguments_are_tool_errors() {
        let found = search(&catalog(), &json!({"query": "zebra"}));
        assert!(names(&found).is_empty());
        assert!(
            found["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("No tool matches")
        );
        assert_eq!(search(&catalog(), &json!({}))["isError"], true);
        assert_eq!(describe(&catalog(), &json!({"name": "nope"}))["isError"], true);
        let described = describe(&catalog(), &json!({"name": "fs__read_file"}));
        assert_eq!(described["structuredContent"]["name"], "fs__read_file");
    }

    #[test]
    fn its_own_tools_are_three_and_known_by_name() {
        let own: Vec<String> = tools()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(own, [SEARCH_TOOLS, DESCRIBE_TOOL, CALL_TOOL]);
        assert!(own.iter().all(|n| is_own(n)));
        assert!(!is_own("time__get_current_time"));
    }
}
