"""Drives the gateway with the official MCP Python SDK and prints what it saw as JSON.

Usage: sdk_client.py SCENARIO BASE_URL   (the token comes from SWITCHBOARD_TOKEN)

Scenarios:
  everything [PATH] [sse]  PATH (default /mcp/everything) over Streamable HTTP, or over the
              legacy HTTP+SSE transport with `sse`: tools, echo, sampling, elicitation,
              progress, subscription
  time        /mcp/time: list and call
  aggregate   /mcp: list and call tools of both servers
  asked PATH [PREFIX]
              PATH as a 2026-07-28 client (no session): calls server-everything's tools
              that elicit and sample, named with PREFIX on the aggregate, answering their
              questions in rounds of input
  asking PATH [PREFIX]
              PATH as a 2025-11-25 session client: calls the conformance server's tools
              that elicit and sample (named with PREFIX on the aggregate), answering the
              requests its rounds of input become
  notices PATH
              PATH (the conformance server) as a session client: resource updates and list
              changes, subscribing then unsubscribing
  long ID     /mcp/everything: a long-running call with progress; prints its own progress
  stdio CMD.. the same checks as `time`, through a stdio server started as CMD (the shim)
  offered PATH CALLS [ROOT]
              PATH under the client's profile: the tools offered (names, and input schemas by
              name) and each call in CALLS (a JSON object: tool name -> arguments) answered or
              refused; then, once told the list changed, the tools offered again. With ROOT (a file:// URI), the client
              lists that folder as its root
  search PATH QUERY ARGS
              a client in search mode as a model would use it: finds tools by QUERY, reads
              the best match's definition, and calls it with ARGS (a JSON object)
  entry FILE [CALLS]
              connects as an AI client would from its config entry (JSON in FILE): a program
              with its args and env, or a URL with its headers; lists the tools, then makes
              each call in CALLS (a JSON object: tool name -> arguments)
"""

import asyncio
import json
import os
import sys

import anyio
import httpx2
from mcp import Client, ClientSession, types
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client


def http_client():
    token = os.environ["SWITCHBOARD_TOKEN"]
    return httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx2.Timeout(30, read=300),
    )


async def sampling(context, params):
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text="sampled-by-python"),
        model="test-model",
        stop_reason="endTurn",
    )


async def elicitation(context, params):
    return types.ElicitResult(action="accept", content={"name": "Ada", "check": True})


def text_of(result):
    return " ".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def transport(url, legacy_sse):
    if legacy_sse:
        token = os.environ["SWITCHBOARD_TOKEN"]
        return sse_client(url, headers={"Authorization": f"Bearer {token}"}, sse_read_timeout=300)
    return streamable_http_client(url, http_client=http_client())


async def everything(url, legacy_sse):
    out = {}
    updates = []

    async def on_message(message):
        if isinstance(message, types.ServerNotification):
            root = message.root if hasattr(message, "root") else message
            if isinstance(root, types.ResourceUpdatedNotification):
                updates.append(str(root.params.uri))

    async with transport(url, legacy_sse) as (read, write, *_):
        async with ClientSession(
            read,
            write,
            sampling_callback=sampling,
            elicitation_callback=elicitation,
            message_handler=on_message,
        ) as session:
            init = await session.initialize()
            out["server"] = init.server_info.name
            tools = await session.list_tools()
            out["tools"] = sorted(t.name for t in tools.tools)
            out["echo"] = text_of(await session.call_tool("echo", {"message": "hello"}))
            out["sampling"] = text_of(
                await session.call_tool("trigger-sampling-request", {"prompt": "hi", "maxTokens": 10})
            )
            out["elicitation"] = text_of(await session.call_tool("trigger-elicitation-request", {}))
            progress = []

            async def on_progress(p, total, message):
                progress.append(p)

            await session.call_tool(
                "trigger-long-running-operation",
                {"duration": 1, "steps": 4},
                progress_callback=on_progress,
            )
            out["progress"] = progress
            resources = await session.list_resources()
            uri = str(resources.resources[0].uri)
            await session.subscribe_resource(uri)
            await session.call_tool("toggle-subscriber-updates", {})
            with anyio.fail_after(30):
                while uri not in updates:
                    await anyio.sleep(0.1)
            out["updated"] = uri
            await session.call_tool("toggle-subscriber-updates", {})
    return out


async def asked(url, prefix):
    """A 2026-07-28 client: the server's questions come as rounds of input, answered here."""
    async with Client(
        streamable_http_client(url, http_client=http_client()),
        mode="2026-07-28",
        sampling_callback=sampling,
        elicitation_callback=elicitation,
    ) as client:
        elicited = await client.call_tool(f"{prefix}trigger-elicitation-request", {})
        sampled = await client.call_tool(f"{prefix}trigger-sampling-request", {"prompt": "hi", "maxTokens": 10})
        return {
            "protocol": client.protocol_version,
            "elicitation": text_of(elicited),
            "sampling": text_of(sampled),
            "errors": [bool(elicited.is_error), bool(sampled.is_error)],
        }


async def asking(url, prefix):
    """A 2025-11-25 session client: a 2026-07-28 server's rounds of input reach it as requests."""
    async with streamable_http_client(url, http_client=http_client()) as (read, write, *_):
        async with ClientSession(
            read, write, sampling_callback=sampling, elicitation_callback=elicitation
        ) as session:
            init = await session.initialize()
            elicited = await session.call_tool(f"{prefix}test_elicitation", {"message": "Who are you?"})
            sampled = await session.call_tool(f"{prefix}test_sampling", {"prompt": "hi"})
            return {
                "protocol": init.protocol_version,
                "elicitation": text_of(elicited),
                "sampling": text_of(sampled),
                "errors": [bool(elicited.is_error), bool(sampled.is_error)],
            }


async def notices(url):
    """A session client of the conformance server: the updates of what it subscribed to and the
    server's list changes, in the order they came."""
    seen = []
    uri = "test://watched-resource"

    async def on_message(message):
        if isinstance(message, types.ServerNotification):
            root = message.root if hasattr(message, "root") else message
            seen.append(getattr(root, "method", type(root).__name__))

    async def until(count, method):
        with anyio.fail_after(30):
            while seen.count(method) < count:
                await anyio.sleep(0.05)

    async with streamable_http_client(url, http_client=http_client()) as (read, write, *_):
        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            await session.subscribe_resource(uri)
            await session.call_tool("test_trigger_resource_update", {})
            await until(1, "notifications/resources/updated")
            await session.call_tool("test_trigger_tool_change", {})
            await until(1, "notifications/tools/list_changed")
            await session.unsubscribe_resource(uri)
            await session.call_tool("test_trigger_resource_update", {})
            await session.call_tool("test_trigger_tool_change", {})
            await until(2, "notifications/tools/list_changed")
    return {"seen": [m for m in seen if m != "notifications/message"]}


async def time_server(base):
    async with streamable_http_client(f"{base}/mcp/time", http_client=http_client()) as (read, write, *_):
        async with ClientSession(read, write) as session:
            return await time_checks(session)


async def time_checks(session):
    init = await session.initialize()
    tools = await session.list_tools()
    result = await session.call_tool("get_current_time", {"timezone": "UTC"})
    return {
        "server": init.server_info.name,
        "tools": sorted(t.name for t in tools.tools),
        "time": json.loads(text_of(result))["timezone"],
    }


async def aggregate(base):
    async with streamable_http_client(f"{base}/mcp", http_client=http_client()) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            echo = await session.call_tool("everything__echo", {"message": "via aggregate"})
            now = await session.call_tool("time__get_current_time", {"timezone": "UTC"})
            return {
                "tools": sorted(t.name for t in tools.tools),
                "echo": text_of(echo),
                "time": json.loads(text_of(now))["timezone"],
            }


async def long_call(base, tag):
    """Starts a long call, printing each progress event as a line, then the result."""
    async with streamable_http_client(f"{base}/mcp/everything", http_client=http_client()) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()

            async def on_progress(p, total, message):
                print(json.dumps({"tag": tag, "progress": p}), flush=True)

            result = await session.call_tool(
                "trigger-long-running-operation",
                {"duration": 3, "steps": 6},
                progress_callback=on_progress,
            )
            return {"tag": tag, "result": text_of(result)}


async def via_stdio(command):
    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    async with stdio_client(params) as (read, write, *_):
        async with ClientSession(read, write) as session:
            return await time_checks(session)


async def via_entry(entry_file, calls=None):
    with open(entry_file) as f:
        entry = json.load(f)
    calls = json.loads(calls) if calls else {}
    if "url" in entry:
        client = httpx2.AsyncClient(headers=entry.get("headers", {}), timeout=httpx2.Timeout(30))
        connection = streamable_http_client(entry["url"], http_client=client)
    else:
        # Only what the entry gives; the token must come from the entry, not from this test.
        env = {k: v for k, v in os.environ.items() if k != "SWITCHBOARD_TOKEN"}
        env.update(entry.get("env", {}))
        params = StdioServerParameters(command=entry["command"], args=entry.get("args", []), env=env)
        connection = stdio_client(params)
    async with connection as (read, write, *_):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            results = {}
            for name, arguments in calls.items():
                result = await session.call_tool(name, arguments)
                results[name] = {"is_error": bool(result.is_error), "text": text_of(result)}
            return {
                "server": init.server_info.name,
                "tools": sorted(t.name for t in tools.tools),
                "calls": results,
            }


async def list_tools(url):
    """Initializes through the gateway and lists the server's tools."""
    async with streamable_http_client(url, http_client=http_client()) as (read, write, *_):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            return {"server": init.server_info.name, "tools": sorted(t.name for t in tools.tools)}


async def call_tool(url, tool):
    """Initializes through the gateway and calls one tool without arguments."""
    async with streamable_http_client(url, http_client=http_client()) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool(tool, {})
            return {"text": text_of(result)}


async def call_many(url, tool, count):
    """Calls one tool `count` times at once in one session; prints every answer's text."""
    async with streamable_http_client(url, http_client=http_client()) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()
            results = await asyncio.gather(*(session.call_tool(tool, {}) for _ in range(count)))
            return {"texts": [text_of(r) for r in results]}


async def offered(url, calls, root=None):
    """A session client under a profile: prints the tools it is offered and what each call in
    CALLS (tool name -> arguments) answered, then waits for tools/list_changed and prints the
    tools offered after it. With ROOT, the client works in that folder (its one MCP root)."""
    changed = anyio.Event()

    async def list_roots(context):
        return types.ListRootsResult(roots=[types.Root(uri=root, name="project")])

    async def on_message(message):
        if isinstance(message, types.ServerNotification):
            root = message.root if hasattr(message, "root") else message
            if getattr(root, "method", "") == "notifications/tools/list_changed":
                changed.set()

    async with streamable_http_client(url, http_client=http_client()) as (read, write, *_):
        roots = {"list_roots_callback": list_roots} if root else {}
        async with ClientSession(read, write, message_handler=on_message, **roots) as session:
            await session.initialize()
            listed = (await session.list_tools()).tools
            tools = sorted(t.name for t in listed)
            results = {}
            for name, arguments in json.loads(calls).items():
                try:
                    result = await session.call_tool(name, arguments)
                    results[name] = {"error": bool(result.is_error), "text": text_of(result)}
                except Exception as e:  # a JSON-RPC error: what the client was told
                    results[name] = {"refused": str(e)}
            schemas = {t.name: t.input_schema for t in listed}
            print(json.dumps({"tools": tools, "schemas": schemas, "calls": results}), flush=True)
            with anyio.fail_after(120):
                await changed.wait()
            listed = (await session.list_tools()).tools
            return {"tools": sorted(t.name for t in listed), "schemas": {t.name: t.input_schema for t in listed}}


async def search(url, query, arguments):
    async with streamable_http_client(url, http_client=http_client()) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()
            out = {"tools": sorted(t.name for t in (await session.list_tools()).tools)}
            found = await session.call_tool("search_tools", {"query": query})
            out["found"] = [t["name"] for t in (found.structured_content or {}).get("tools", [])]
            if out["found"]:
                best = out["found"][0]
                described = await session.call_tool("describe_tool", {"name": best})
                out["described"] = described.structured_content
                called = await session.call_tool(
                    "call_tool", {"name": best, "arguments": json.loads(arguments)}
                )
                out["called"] = {"error": bool(called.is_error), "text": text_of(called)}
            return out


async def main():
    scenario, rest = sys.argv[1], sys.argv[2:]
    if scenario == "everything":
        path = rest[1] if len(rest) > 1 else "/mcp/everything"
        out = await everything(rest[0] + path, rest[2:] == ["sse"])
    elif scenario == "time":
        out = await time_server(rest[0])
    elif scenario == "aggregate":
        out = await aggregate(rest[0])
    elif scenario == "asked":
        out = await asked(rest[0] + rest[1], rest[2] if len(rest) > 2 else "")
    elif scenario == "asking":
        out = await asking(rest[0] + rest[1], rest[2] if len(rest) > 2 else "")
    elif scenario == "notices":
        out = await notices(rest[0] + rest[1])
    elif scenario == "long":
        out = await long_call(rest[0], rest[1])
    elif scenario == "stdio":
        out = await via_stdio(rest)
    elif scenario == "calls":
        out = await call_many(rest[0], rest[1], int(rest[2]))
    elif scenario == "call":
        out = await call_tool(rest[0], rest[1])
    elif scenario == "list":
        out = await list_tools(rest[0])
    elif scenario == "offered":
        out = await offered(rest[0] + rest[1], rest[2], rest[3] if len(rest) > 3 else None)
    elif scenario == "search":
        out = await search(rest[0] + rest[1], rest[2], rest[3])
    elif scenario == "entry":
        out = await via_entry(rest[0], rest[1] if len(rest) > 1 else None)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print(json.dumps(out), flush=True)


asyncio.run(main())
