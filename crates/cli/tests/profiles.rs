//! End to end: profiles decide what each client of the gateway is offered. Real servers
//! (mcp-server-time from PyPI, server-everything from npm) behind the daemon, reached by the
//! official Python and TypeScript SDK clients with tokens that use different profiles.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{
    OfferedClient, Sandbox, echo_server, everything_server, messages, next_event, sdk_python, sdk_typescript,
    time_server,
};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);

/// A daemon running both servers, with a token for each client named.
fn daemon(clients: &[&str]) -> (Sandbox, Vec<String>) {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.ok(&["add", "everything", "--", &everything_server()]);
    sb.wait_state("time", "running", START);
    sb.wait_state("everything", "running", START);
    let tokens = clients
        .iter()
        .map(|client| sb.ok(&["token", "create", client]).trim().to_owned())
        .collect();
    (sb, tokens)
}

fn base(sb: &Sandbox) -> String {
    format!("http://127.0.0.1:{}", sb.port())
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// What a call the client made answered.
fn answered(seen: &Value, tool: &str) -> String {
    let text = &seen["calls"][tool]["text"];
    assert!(text.is_string(), "{tool} was not answered: {seen}");
    text.as_str().unwrap().to_owned()
}

/// What the client was told of a refused call.
fn refusal(seen: &Value, tool: &str) -> String {
    let refused = &seen["calls"][tool]["refused"];
    assert!(refused.is_string(), "{tool} was not refused: {seen}");
    refused.as_str().unwrap().to_owned()
}

#[test]
fn two_clients_with_different_profiles_see_different_tools_from_the_same_servers() {
    let (sb, tokens) = daemon(&["py-client", "ts-client", "plain"]);
    let (py_token, ts_token, plain_token) = (&tokens[0], &tokens[1], &tokens[2]);
    sb.ok(&["profile", "add", "clock", "time"]);
    sb.ok(&["profile", "add", "clock", "everything", "--tools", "echo"]);
    sb.ok(&[
        "profile",
        "add",
        "maths",
        "everything",
        "--except-tools",
        "echo,trigger-*",
    ]);
    sb.ok(&["profile", "use", "clock", "--client", "py-client"]);
    sb.ok(&["profile", "use", "maths", "--client", "ts-client"]);

    // The Python client, on the aggregate: time's tools and everything's echo, nothing else.
    let calls = json!({"everything__echo": {"message": "hi"}, "everything__get-sum": {"a": 1, "b": 2}});
    let mut python = OfferedClient::start(&sb, "/mcp", &calls.to_string(), py_token, None);
    let seen = python.first();
    assert_eq!(
        names(&seen["tools"]),
        ["everything__echo", "time__convert_time", "time__get_current_time"],
        "{seen}"
    );
    assert_eq!(seen["calls"]["everything__echo"]["text"], "Echo: hi", "{seen}");
    assert!(
        refusal(&seen, "everything__get-sum").contains("Unknown tool"),
        "{seen}"
    );

    // The TypeScript client, on everything's own endpoint: all but echo and the triggers.
    let calls = json!({"get-sum": {"a": 1, "b": 2}, "echo": {"message": "hi"}, "trigger-sampling-request": {"prompt": "x"}});
    let seen = sdk_typescript(
        &["offered", &base(&sb), "/mcp/everything", &calls.to_string()],
        ts_token,
    );
    let tools = names(&seen["tools"]);
    assert!(tools.contains(&"get-sum".to_owned()), "{seen}");
    assert!(
        !tools.iter().any(|t| t == "echo" || t.starts_with("trigger-")),
        "{seen}"
    );
    assert!(answered(&seen, "get-sum").contains('3'), "{seen}");
    assert!(refusal(&seen, "echo").contains("Unknown tool"), "{seen}");
    assert!(
        refusal(&seen, "trigger-sampling-request").contains("Unknown tool"),
        "{seen}"
    );
    // A server its profile does not offer is refused before a session opens.
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let auth = format!("Bearer {ts_token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Accept", "application/json, text/event-stream"),
    ];
    let (status, body) = sb.http("POST", "/mcp/time", &headers, &initialize.to_string());
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("profile"), "{body}");

    // A client without a profile is offered everything, as before.
    let seen = sdk_python(&["list", &format!("{}/mcp", base(&sb))], plain_token);
    assert!(names(&seen["tools"]).len() > 10, "{seen}");

    // The profile changes under the Python client's open session: it is told, and lists less.
    sb.ok(&["profile", "remove", "clock", "time"]);
    let after = python.last();
    assert_eq!(names(&after["tools"]), ["everything__echo"], "{after}");

    // The CLI shows who uses what, and keeps a profile in use.
    let profiles = sb.json(&["profile", "ls"]);
    let clock = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "clock")
        .unwrap();
    assert_eq!(clock["clients"], json!(["py-client"]), "{profiles}");
    let refused = sb.cli(&["profile", "rm", "clock"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("py-client"),
        "{refused:?}"
    );
    sb.ok(&["profile", "use", "--none", "--client", "py-client"]);
    sb.ok(&["profile", "rm", "clock"]);
}

#[test]
fn the_folder_a_client_works_in_chooses_its_profile() {
    let (sb, tokens) = daemon(&["editor"]);
    let token = &tokens[0];
    let work = sb.home().join("work");
    let (clocks, sums) = (work.join("clocks"), work.join("sums repo"));
    for folder in [&clocks, &sums] {
        std::fs::create_dir_all(folder.join("src")).unwrap();
    }
    sb.ok(&["profile", "add", "clocks", "time"]);
    sb.ok(&["profile", "roots", "clocks", clocks.to_str().unwrap()]);
    sb.ok(&["profile", "add", "sums", "everything", "--tools", "get-sum"]);
    sb.ok(&["profile", "roots", "sums", &format!("file://{}", sums.display())]);
    let uri =
        |folder: &std::path::Path| format!("file://{}", folder.join("src").display()).replace(' ', "%20");
    let calls = json!({"everything__get-sum": {"a": 1, "b": 2}}).to_string();

    // One token, two projects: each session is offered what its folder's profile offers.
    let mut in_clocks = OfferedClient::start(&sb, "/mcp", &calls, token, Some(&uri(&clocks)));
    let seen = in_clocks.first();
    assert_eq!(
        names(&seen["tools"]),
        ["time__convert_time", "time__get_current_time"],
        "{seen}"
    );
    assert!(
        refusal(&seen, "everything__get-sum").contains("Unknown tool"),
        "{seen}"
    );
    let mut in_sums = OfferedClient::start(&sb, "/mcp", &calls, token, Some(&uri(&sums)));
    let seen = in_sums.first();
    assert_eq!(names(&seen["tools"]), ["everything__get-sum"], "{seen}");
    assert!(answered(&seen, "everything__get-sum").contains('3'), "{seen}");
    // Elsewhere, the token (without a profile) is offered every server.
    let mut elsewhere = OfferedClient::start(&sb, "/mcp", "{}", token, Some("file:///tmp"));
    assert!(names(&elsewhere.first()["tools"]).len() > 10);

    // A change to a profile chosen by roots reaches the sessions it chose.
    sb.ok(&["profile", "add", "clocks", "everything", "--tools", "echo"]);
    let after = in_clocks.last();
    assert_eq!(
        names(&after["tools"]),
        ["everything__echo", "time__convert_time", "time__get_current_time"],
        "{after}"
    );
    drop((in_sums, elsewhere));
}

#[test]
fn what_a_profile_hides_is_answered_as_if_it_did_not_exist() {
    let (sb, tokens) = daemon(&["clock-only", "plain"]);
    sb.ok(&["profile", "add", "clock", "time"]);
    sb.ok(&["profile", "use", "clock", "--client", "clock-only"]);
    let (hidden, plain) = (
        Raw::open(&sb, "/mcp", &tokens[0]),
        Raw::open(&sb, "/mcp", &tokens[1]),
    );
    // A server's own endpoint says its lists may change (a profile changes them), and adds
    // nothing it did not declare: mcp-echo declares tools only.
    sb.ok(&["add", "echo", "--", echo_server().to_str().unwrap()]);
    sb.wait_state("echo", "running", START);
    let echo = Raw::open(&sb, "/mcp/echo", &tokens[1]);
    assert_eq!(
        echo.init["capabilities"],
        json!({"tools": {"listChanged": true}}),
        "{}",
        echo.init
    );
    assert!(
        plain.init["instructions"]
            .as_str()
            .unwrap()
            .contains("## everything"),
        "{}",
        plain.init
    );
    assert!(
        !hidden.init["instructions"]
            .as_str()
            .is_some_and(|i| i.contains("everything")),
        "{}",
        hidden.init
    );

    // A resource the plain client reads is, for the hidden one, a resource that does not exist.
    let listed = plain.call("resources/list", json!({}));
    let uri = listed["result"]["resources"][0]["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(plain.call("resources/read", json!({"uri": uri}))["result"]["contents"].is_array());
    let refused = hidden.call("resources/read", json!({"uri": uri}));
    assert_eq!(refused["error"]["code"], -32002, "{refused}");
    let unknown = hidden.call("resources/read", json!({"uri": "demo://no/such/thing"}));
    assert_eq!(
        refused["error"],
        json!({"code": -32002, "message": format!("Resource not found: {uri}")})
    );
    assert_eq!(unknown["error"]["code"], -32002, "{unknown}");
    assert_eq!(
        hidden.call("resources/list", json!({}))["result"]["resources"],
        json!([])
    );

    // Prompts and completions: none of the hidden server's, and nothing to complete.
    let prompts = plain.call("prompts/list", json!({}));
    let prompt = prompts["result"]["prompts"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        hidden.call("prompts/list", json!({}))["result"]["prompts"],
        json!([])
    );
    let got = hidden.call("prompts/get", json!({"name": prompt}));
    assert_eq!(
        got["error"]["message"],
        format!("Unknown prompt: {prompt}"),
        "{got}"
    );
    let completion = hidden.call(
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": prompt}, "argument": {"name": "x", "value": ""}}),
    );
    assert_eq!(
        completion["result"]["completion"]["values"],
        json!([]),
        "{completion}"
    );
}

#[test]
fn a_tool_renamed_by_a_profile_is_listed_and_called_by_its_new_name() {
    let (sb, tokens) = daemon(&["renamer"]);
    let token = &tokens[0];
    sb.ok(&["profile", "add", "mine", "time"]);
    sb.ok(&[
        "profile",
        "override",
        "mine",
        "time",
        "get_current_time",
        "--rename",
        "now",
        "--description",
        "What time it is in a timezone.",
        "--destructive",
    ]);
    sb.ok(&["profile", "use", "mine", "--client", "renamer"]);
    let paris = json!({"timezone": "Europe/Paris"});
    // Two tools under one name, or a name clients do not take, are refused, saying why.
    for (rename, why) in [
        ("now", "would both be named `now`"),
        ("what time?", "not a name clients take"),
    ] {
        let refused = sb.cli(&[
            "profile",
            "override",
            "mine",
            "time",
            "convert_time",
            "--rename",
            rename,
        ]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success() && stderr.contains(why), "{stderr}");
    }

    // On the server's own endpoint (Python SDK): the new name, which calls the tool; the old
    // name is unknown.
    let calls = json!({"now": paris, "get_current_time": paris}).to_string();
    let mut python = OfferedClient::start(&sb, "/mcp/time", &calls, token, None);
    let seen = python.first();
    assert_eq!(names(&seen["tools"]), ["convert_time", "now"], "{seen}");
    assert!(answered(&seen, "now").contains("Europe/Paris"), "{seen}");
    assert!(
        refusal(&seen, "get_current_time").contains("Unknown tool"),
        "{seen}"
    );

    // On the aggregate (TypeScript SDK): namespaced like any tool, and called the same way.
    let calls = json!({"time__now": paris, "time__get_current_time": paris}).to_string();
    let seen = sdk_typescript(&["offered", &base(&sb), "/mcp", &calls], token);
    assert_eq!(
        names(&seen["tools"]),
        ["time__convert_time", "time__now"],
        "{seen}"
    );
    assert!(answered(&seen, "time__now").contains("Europe/Paris"), "{seen}");
    assert!(
        refusal(&seen, "time__get_current_time").contains("Unknown tool"),
        "{seen}"
    );
    // Its description is the profile's, and its hints say it may be destructive.
    let raw = Raw::open(&sb, "/mcp", token);
    let listed = raw.call("tools/list", json!({}));
    let now = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "time__now")
        .unwrap();
    assert_eq!(now["description"], "What time it is in a timezone.", "{now}");
    assert_eq!(now["annotations"]["destructiveHint"], true, "{now}");
    // The history has the server's name for what was called.
    let history = sb.json(&["history", "--client", "renamer"]);
    let tools: Vec<&Value> = history.as_array().unwrap().iter().map(|c| &c["tool"]).collect();
    assert_eq!(tools, [&json!("get_current_time"); 2], "{history}");

    // Cleared, the tool is its server's again, and the open session is told.
    sb.ok(&[
        "profile",
        "override",
        "mine",
        "time",
        "get_current_time",
        "--clear",
    ]);
    assert_eq!(
        names(&python.last()["tools"]),
        ["convert_time", "get_current_time"]
    );
}

#[test]
fn a_client_offered_more_than_its_budget_is_warned_with_the_fix() {
    let (sb, _) = daemon(&["cursor", "zed"]);
    let auth = format!("Bearer {}", sb.token());
    let events = messages(sb.http_send("GET", "/api/v1/events", &[("Authorization", &auth)], ""));
    let cost_of = |client: &str| {
        let tokens = sb.json(&["token", "ls"]);
        let token = tokens
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == client)
            .unwrap();
        token["cost"].clone()
    };
    // Every tool of both servers, counted: well within the daemon's default budget of 20,000.
    let all = cost_of("cursor");
    let (tools, tokens) = (all["tools"].as_u64().unwrap(), all["tokens"].as_u64().unwrap());
    assert!(tools > 10 && tokens > 1000, "{all}");
    assert_eq!(all["budget"], 20_000, "{all}");

    // A budget of half that: the client is over it, announced once, and told how to fix it.
    let budget = tokens / 2;
    sb.ok(&["token", "budget", "cursor", &budget.to_string()]);
    let over = next_event(&events, "client_over_budget");
    assert_eq!(over["client"], "cursor", "{over}");
    assert_eq!(
        over["cost"],
        json!({"tools": tools, "tokens": tokens, "budget": budget})
    );
    let listed = sb.ok(&["token", "ls"]);
    let warning = format!(
        "warning: cursor is offered {tools} tools costing {tokens} tokens, over its budget of {budget}"
    );
    assert!(listed.contains(&warning), "{listed}");
    assert!(
        listed.contains("switchboard profile use NAME --client cursor"),
        "{listed}"
    );
    assert!(!listed.contains("warning: zed"), "{listed}");

    // The fix: a profile of time's two tools brings it under its budget.
    sb.ok(&["profile", "add", "clock", "time"]);
    sb.ok(&["profile", "use", "clock", "--client", "cursor"]);
    let narrowed = cost_of("cursor");
    assert_eq!(narrowed["tools"], 2, "{narrowed}");
    assert!(narrowed["tokens"].as_u64().unwrap() < budget, "{narrowed}");
    assert!(!sb.ok(&["token", "ls"]).contains("warning:"));
    // Going over again is announced again.
    sb.ok(&["token", "budget", "cursor", "10"]);
    let again = next_event(&events, "client_over_budget");
    assert_eq!(again["cost"]["tools"], 2, "{again}");
}

#[test]
fn search_mode_finds_a_tool_and_calls_it_through_the_same_routing() {
    let (sb, tokens) = daemon(&["py-searcher", "ts-searcher"]);
    sb.ok(&["profile", "add", "lean", "time"]);
    sb.ok(&["profile", "add", "lean", "everything", "--except-tools", "echo"]);
    sb.ok(&["profile", "search", "lean", "on"]);
    sb.ok(&["profile", "use", "lean", "--client", "py-searcher,ts-searcher"]);
    let own = ["call_tool", "describe_tool", "search_tools"];

    // The Python client on the aggregate: three tools listed; a search finds the clock, whose
    // definition it reads, and calling it answers from the real server.
    let paris = json!({"timezone": "Europe/Paris"}).to_string();
    let seen = sdk_python(
        &["search", &base(&sb), "/mcp", "current time in a timezone", &paris],
        &tokens[0],
    );
    assert_eq!(names(&seen["tools"]), own, "{seen}");
    assert_eq!(seen["found"][0], "time__get_current_time", "{seen}");
    assert!(
        seen["described"]["inputSchema"]["properties"]["timezone"].is_object(),
        "{seen}"
    );
    assert_eq!(seen["called"]["error"], false, "{seen}");
    assert!(
        seen["called"]["text"].as_str().unwrap().contains("Europe/Paris"),
        "{seen}"
    );
    // The call is the real tool's in the history: its server, its own name, this client.
    let calls = common::wait_until("the call in the history", START, || {
        let calls = sb.json(&["history", "--server", "time"]);
        (!calls.as_array().unwrap().is_empty()).then_some(calls)
    });
    assert_eq!(calls[0]["tool"], "get_current_time", "{calls}");
    assert_eq!(calls[0]["client"], "py-searcher", "{calls}");

    // The TypeScript client on everything's own endpoint: the sum is found and called; what
    // the profile hides is neither found nor callable.
    let seen = sdk_typescript(
        &[
            "search",
            &base(&sb),
            "/mcp/everything",
            "add two numbers",
            r#"{"a": 2, "b": 3}"#,
        ],
        &tokens[1],
    );
    assert_eq!(names(&seen["tools"]), own, "{seen}");
    assert_eq!(seen["found"][0], "get-sum", "{seen}");
    assert!(seen["called"]["text"].as_str().unwrap().contains('5'), "{seen}");
    let hidden = sdk_typescript(
        &[
            "search",
            &base(&sb),
            "/mcp/everything",
            "echo a message back",
            r#"{"message": "hi"}"#,
        ],
        &tokens[1],
    );
    assert!(
        !hidden["found"].as_array().unwrap().iter().any(|f| f == "echo"),
        "{hidden}"
    );
    let calls = json!({"call_tool": {"name": "echo", "arguments": {"message": "hi"}}}).to_string();
    let refused = sdk_typescript(&["offered", &base(&sb), "/mcp/everything", &calls], &tokens[1]);
    assert!(
        refusal(&refused, "call_tool").contains("Unknown tool: echo"),
        "{refused}"
    );

    // What the client is offered costs three tools' definitions.
    let listed = sb.json(&["token", "ls"]);
    let cost = &listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "py-searcher")
        .unwrap()["cost"];
    assert_eq!(cost["tools"], 3, "{cost}");
    assert!(cost["tokens"].as_u64().unwrap() < 1000, "{cost}");
}

/// A session of the gateway's aggregate, spoken to over raw HTTP with JSON answers.
struct Raw<'s> {
    sb: &'s Sandbox,
    path: &'s str,
    auth: String,
    session: String,
    init: Value,
}

impl<'s> Raw<'s> {
    fn open(sb: &'s Sandbox, path: &'s str, token: &str) -> Self {
        let auth = format!("Bearer {token}");
        let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
        let (status, response) = sb.http("POST", path, &Self::headers(&auth, None), &initialize.to_string());
        assert_eq!(status, 200, "{response}");
        let session = response
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("mcp-session-id: ")
                    .map(str::to_owned)
            })
            .unwrap();
        let init = body(&response)["result"].clone();
        Self {
            sb,
            path,
            auth,
            session,
            init,
        }
    }

    fn headers<'h>(auth: &'h str, session: Option<&'h str>) -> Vec<(&'h str, &'h str)> {
        let mut headers = vec![
            ("Authorization", auth),
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ];
        headers.extend(session.map(|s| ("Mcp-Session-Id", s)));
        headers
    }

    fn call(&self, method: &str, params: Value) -> Value {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let headers = Self::headers(&self.auth, Some(&self.session));
        let (status, response) = self.sb.http("POST", self.path, &headers, &request.to_string());
        assert_eq!(status, 200, "{response}");
        body(&response)
    }
}

/// The JSON body of an HTTP response.
fn body(response: &str) -> Value {
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}
