// Generated from crates/model (the control API's Rust types) by crates/model/tests/ui_types.rs.
// Do not edit: run `SWITCHBOARD_UI_TYPES=write cargo test -p switchboard-model --test ui_types`.

export type AddRemote = { 
/**
 * The peer's host name, MagicDNS name or Tailscale address.
 */
peer: string, server: ServerName, 
/**
 * The name here; the peer's name for it when absent.
 */
name?: ServerName | null, };

export type AddServer = { enabled: boolean, 
/**
 * Values for env vars (headers, for a remote server) to keep in the keychain; the spec
 * refers to them. Literal values named like credentials are moved there too.
 */
secrets?: SecretValues, name: ServerName, transport: Transport, restart: RestartPolicy, health?: Health, sharing?: Sharing, protocol?: Protocol, start?: Start, 
/**
 * The registry version it was installed from, if it was.
 */
origin?: Origin | null, };

export type AdoptedServer = { server: string, 
/**
 * Where it was found: `client-id: entry-name`, each place once.
 */
found_in: Array<string>, 
/**
 * It matched a server Switchboard already had, so nothing was added.
 */
existing: boolean, 
/**
 * Credential-named variables or headers whose values moved into the keychain.
 */
secrets?: Array<string>, };

export type ApiErrorBody = { 
/**
 * Stable machine-readable code, e.g. `server_exists`.
 */
code: string, 
/**
 * What went wrong and how to fix it, for people.
 */
message: string, };

export type AppClient = { 
/**
 * Stable id, e.g. `claude-desktop`.
 */
id: string, name: string, 
/**
 * Why it looks installed (`program /usr/bin/codex`), or `None` if it does not.
 */
installed: string | null, 
/**
 * Whether one of its processes is running now.
 */
running: boolean, 
/**
 * Entries are URLs (else the `switchboard connect` shim is launched).
 */
http_native: boolean, 
/**
 * What the user must do for the client to see a change: `live`, `refresh`, `restart`,
 * `new-session`.
 */
reload: string, deprecated: string | null, 
/**
 * What the user asked it to get; `None` if it is not connected.
 */
wiring: Wiring | null, 
/**
 * What the tools it is offered cost, when it is connected.
 */
cost: ToolCost | null, files: Array<AppClientFile>, };

export type AppClientFile = { path: string, exists: boolean, 
/**
 * Switchboard's entries that are in the file as written.
 */
entries: Array<string>, 
/**
 * Switchboard's entries that are missing or were edited since.
 */
drifted: Array<string>, 
/**
 * Entries that are not Switchboard's (candidates for import).
 */
foreign: Array<string>, 
/**
 * Why the file cannot be read or parsed, if it cannot.
 */
error: string | null, };

export type ApproveTools = { tools: Array<string>, };

export type ApprovedTools = { server: ServerName, approved: Array<string>, };

export type BrowserToken = { token: string, };

export type CallOutcome = "ok" | "tool_error" | "error" | "cancelled";

export type CallRecord = { id: number, at_ms: number, client: string, server: string, tool: string, duration_ms: number, outcome: CallOutcome, error: string | null, request_bytes: number, response_bytes: number, 
/**
 * Present only when payload recording is on.
 */
arguments: JsonValue | null, result: JsonValue | null, };

export type ClientChange = { client: string, dry_run: boolean, files: Array<FileChange>, 
/**
 * What the user must do now for the client to see it, if anything.
 */
next_step: string | null, 
/**
 * The journal operation that made the change (none when dry or nothing was written):
 * `POST /api/v1/clients/undo {"operation": N}` undoes exactly it.
 */
operation?: number | null, };

export type ConnectClient = { 
/**
 * One entry per named server; `None` (or `all`) for the one aggregate entry.
 */
servers: Array<string> | null, 
/**
 * Overwrite or remove Switchboard's entries even where the user edited them.
 */
force: boolean, 
/**
 * Compute and show the change; write nothing.
 */
dry_run: boolean, 
/**
 * Re-apply the entries whenever the file loses them.
 */
reapply: boolean, };

export type DaemonInfo = { pid: number, port: number, version: string, };

export type DaemonStatus = { version: string, pid: number, port: number, data_dir: string, started_at_ms: number, servers: ServerCounts, 
/**
 * MCP sessions open at the gateway (each connected client holds at least one).
 */
sessions: number, 
/**
 * Tool calls and run records the daemon could not write (a full disk, usually).
 */
unwritten: UnwrittenRecords, 
/**
 * Every server is paused (`switchboard pause`): none starts until `switchboard resume`.
 */
paused: boolean, 
/**
 * Where secret values live, in words ("the OS keychain, service `switchboard`").
 */
secrets_store: string, };

export type DisconnectClient = { force: boolean, dry_run: boolean, };

export type DoctorReport = { runtimes: Array<RuntimeCheck>, login_shell: ShellCheck, registry: RegistryCheck, secrets: SecretsCheck, store: StoreCheck, };

export type EnableHttps = { 
/**
 * The port of this node's MagicDNS name to serve on.
 */
port: number, };

export type EntryChange = { entry: string, change: string, };

export type Event = { "type": "server_added", name: ServerName, } | { "type": "server_changed", name: ServerName, } | { "type": "server_removed", name: ServerName, } | { "type": "state_changed", name: ServerName, at_ms: number, status: ServerState, } | { "type": "client_drifted", client: string, path: string, entries: Array<string>, reapplied: boolean, } | { "type": "server_unresponsive", name: ServerName, method: string, waited_ms: number, } | { "type": "records_unwritten", records: UnwrittenRecords, } | { "type": "calls_recorded", count: number, } | { "type": "client_over_budget", client: string, cost: ToolCost, } | { "type": "tools_held", server: ServerName, tools: Array<string>, } | { "type": "paused" } | { "type": "resumed" } | { "type": "system_woke", slept_ms: number, cause: string, } | { "type": "network_changed", gained: Array<string>, lost: Array<string>, };

export type ExitCause = { "kind": "exited", code: number, } | { "kind": "signaled", signal: number, } | { "kind": "unresponsive" } | { "kind": "stopped" } | { "kind": "daemon_lost" } | { "kind": "unobserved", error: string, };

export type Expose = { to: Array<string>, };

export type Exposure = { server: ServerName, to: Array<string>, };

export type FailureReason = { "kind": "program_not_found", program: string, } | { "kind": "spawn_failed", message: string, } | { "kind": "exited_during_startup", cause: ExitCause, stderr_tail: string, } | { "kind": "handshake_timeout", after_ms: number, stderr_tail: string, } | { "kind": "handshake_failed", message: string, } | { "kind": "port_in_use", port: number, } | { "kind": "crashed", cause: ExitCause, stderr_tail: string, } | { "kind": "secret_unavailable", key: string, message: string, } | { "kind": "needs_login", message: string, };

export type FileChange = { path: string, 
/**
 * Each entry and what happened to it: `added`, `updated`, `unchanged`, `removed`,
 * `kept-foreign` (the user's own), `kept-edited` (ours, edited by the user).
 */
entries: Array<EntryChange>, 
/**
 * Whether the file's bytes change.
 */
changed: boolean, 
/**
 * A unified diff of the change, with tokens masked (dry runs only).
 */
diff: string | null, };

export type GuardResults = { results: SecretResults, };

export type Health = { 
/**
 * From spawn to a completed handshake and tools/list; npx's first download counts.
 */
startup_timeout_ms: number, ping_interval_ms: number, ping_timeout_ms: number, 
/**
 * Consecutive missed pings after which the server is killed as hung.
 */
ping_retries: number, };

export type HeldTool = { server: ServerName, tool: string, 
/**
 * The definition approved before, which clients are still given; none for a new tool.
 */
approved?: unknown, 
/**
 * The definition the server offers now.
 */
offered: unknown, 
/**
 * What changed: a unified line diff of the two definitions as indented JSON (for a new
 * tool, all of it added).
 */
diff: string, };

export type Hints = { readOnlyHint?: boolean | null, destructiveHint?: boolean | null, idempotentHint?: boolean | null, openWorldHint?: boolean | null, };

export type ImportClients = { 
/**
 * Client ids to import from; empty for every client on the machine.
 */
clients: Array<string>, 
/**
 * Replace each imported entry in the client's file by the gateway's.
 */
replace: boolean, dry_run: boolean, };

export type ImportReport = { dry_run: boolean, adopted: Array<AdoptedServer>, skipped: Array<SkippedEntry>, 
/**
 * The clients' files rewritten to use the gateway (with `replace`).
 */
replaced: Array<ClientChange>, };

export type InputChanges = { 
/**
 * Required in the new version and not in the old.
 */
newly_required: Array<string>, 
/**
 * New in the new version and optional.
 */
added: Array<string>, 
/**
 * In the old version only; their values are dropped.
 */
removed: Array<string>, };

export type InputField = { 
/**
 * The name `--set KEY=VALUE` uses: an env var, header, flag, value hint or variable.
 */
key: string, place: InputPlace, description?: string | null, required: boolean, 
/**
 * Its value goes to the keychain and is shown only as set or missing.
 */
secret: boolean, format: InputFormat, default?: string | null, placeholder?: string | null, choices?: Array<string>, 
/**
 * It may be given several times (a list of directories, say).
 */
repeated: boolean, };

export type InputFormat = "string" | "number" | "boolean" | "filepath";

export type InputPlace = "env" | "header" | "argument" | "variable";

export type InstallReport = { name: string, version: string, source: string, 
/**
 * The local server (absent on a dry run).
 */
server?: ServerView | null, 
/**
 * What was fetched and where it was pinned, in words.
 */
fetched: string, warnings: Array<string>, dry_run: boolean, };

export type InstallServer = { 
/**
 * The registry name, e.g. `io.github.modelcontextprotocol/server-time`.
 */
name: string, 
/**
 * An exact version; the latest when absent.
 */
version: string | null, 
/**
 * `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http` or `sse`; the first that can
 * run here when absent.
 */
source: string | null, 
/**
 * The local server name; derived from the registry name when absent.
 */
as: ServerName | null, 
/**
 * Input values by field key; repeated fields take several.
 */
values: { [key in string]: Array<string> }, 
/**
 * Add it stopped rather than started.
 */
disabled: boolean, dry_run: boolean, 
/**
 * Container runtime flags (`--volume`, `--privileged`…) the document asks for that reach
 * beyond the container, which the user allows; without them such a document is refused.
 */
allow_runtime_args: Array<string>, 
/**
 * Run the npm package's install scripts (off by default: `npm install --ignore-scripts`).
 */
allow_scripts: boolean, 
/**
 * Resolve npm and PyPI dependencies as they are today, not as of the version's publish
 * time (the default, where the registry gives that time).
 */
latest_deps: boolean, 
/**
 * When it runs; on demand when absent: a server from the registry sleeps until used.
 */
start: StartMode | null, };

export type InstallSource = { 
/**
 * `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http` or `sse`.
 */
kind: string, 
/**
 * Its package or identifier (a URL for remotes and bundles).
 */
target: string, fields: Array<InputField>, 
/**
 * Why it cannot run on this machine (a runtime missing), if it cannot.
 */
unavailable?: string | null, 
/**
 * The one an install picks when none is asked for.
 */
selected: boolean, };

export type IssueToken = { name: string, };

export type IssuedToken = { name: string, token: string, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

export type Launch = { command: string, args?: Array<string>, cwd?: string | null, env?: { [key in string]: ValueSource }, };

export type LogLine = { 
/**
 * Increases by one per line for the server's lifetime in this daemon; lets a follower
 * join a tail and a live stream without gaps or repeats.
 */
seq: number, at_ms: number, stream: LogStream, line: string, };

export type LogStream = "stderr" | "stdout" | "supervisor";

export type LoginStarted = { authorization_url: string, };

export type Offer = { tools?: Selection, prompts?: Selection, 
/**
 * Matched against each resource's URI (and a template's URI template).
 */
resources?: Selection, 
/**
 * How offered tools are presented, by the server's name for each.
 */
overrides?: { [key in string]: ToolOverride }, };

export type OfferedServer = { name: ServerName, 
/**
 * Its Streamable HTTP endpoint, as a path on the same listener.
 */
path: string, };

export type Origin = { 
/**
 * The registry's base URL.
 */
registry: string, 
/**
 * The registry name, e.g. `io.github.modelcontextprotocol/server-time`.
 */
name: string, version: string, 
/**
 * `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http` or `sse`.
 */
source: string, 
/**
 * The package version pinned by the install, when it differs from `version`.
 */
package_version?: string | null, 
/**
 * Non-secret input values by field key, reused by updates.
 */
inputs?: { [key in string]: Array<string> }, 
/**
 * Where the pinned package lives (none for remotes and images): always a directory under
 * `<data>/packages/<this server>/`, which the control layer checks.
 */
package_dir?: string | null, 
/**
 * Container runtime flags the user allowed at install, kept for updates.
 */
allowed_runtime_args?: Array<string>, 
/**
 * Whether the user let the npm package's install scripts run, kept for updates.
 */
allow_scripts?: boolean, 
/**
 * Whether the user asked for today's dependencies rather than those as of the version's
 * publish time, kept for updates.
 */
latest_deps?: boolean, };

export type PauseState = { paused: boolean, servers: Array<ServerName>, };

export type PeerInfo = { name: string, version: string, protocol_version: string, };

export type Profile = { servers: { [key in ServerName]: Offer }, 
/**
 * Folders (absolute paths or `file://` URIs): a session whose client reports an MCP root
 * in one of them uses this profile, whichever its token uses.
 */
roots?: Array<string>, 
/**
 * Search mode: clients list three tools (search, describe, call) in place of every tool
 * the profile offers, and find the ones they need by a query.
 */
search?: boolean, };

export type ProfileView = { name: string, clients: Array<string>, servers: { [key in ServerName]: Offer }, 
/**
 * Folders (absolute paths or `file://` URIs): a session whose client reports an MCP root
 * in one of them uses this profile, whichever its token uses.
 */
roots?: Array<string>, 
/**
 * Search mode: clients list three tools (search, describe, call) in place of every tool
 * the profile offers, and find the ones they need by a query.
 */
search?: boolean, };

export type Protocol = "auto" | "handshake" | "stateless";

export type QuarantineView = { held: Array<HeldTool>, 
/**
 * Servers whose new and changed tools are approved as they come.
 */
trusted: Array<ServerName>, };

export type RedeemCode = { code: string, };

export type RegistryCheck = { url: string, cached_versions: number, synced_at_ms?: number | null, last_error?: string | null, };

export type RegistryDetail = { server: RegistryServer, versions: Array<RegistryVersion>, 
/**
 * Every way to run this version, with the inputs each needs.
 */
sources: Array<InstallSource>, 
/**
 * The server.json as published.
 */
document: JsonValue, offline?: string | null, };

export type RegistrySearch = { registry: string, servers: Array<RegistryServer>, synced_at_ms?: number | null, 
/**
 * Set when the registry could not be reached and the cache answered: why.
 */
offline?: string | null, };

export type RegistryServer = { name: string, version: string, title?: string | null, description: string, 
/**
 * `active`, `deprecated` or `deleted`.
 */
status: string, is_latest: boolean, published_at?: string | null, 
/**
 * Ways to run it: `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http`, `sse`.
 */
sources: Array<string>, 
/**
 * Local servers installed from it.
 */
installed_as: Array<string>, 
/**
 * Why it cannot be installed as published (a schema violation naming the field).
 */
problem?: string | null, 
/**
 * Departures from the schema that do not stop an install (an over-long description, an
 * unknown field), each naming the field.
 */
warnings?: Array<string>, };

export type RegistryVersion = { version: string, status: string, is_latest: boolean, published_at?: string | null, };

export type ResourceUsage = { cpu_percent: number, memory_bytes: number, processes: number, };

export type RestartPolicy = "always" | "on-failure" | "never";

export type RunRecord = { id: number, pid: number | null, 
/**
 * True when the supervisor started this run on its own after an exit.
 */
restart: boolean, started_at_ms: number, ready_at_ms: number | null, tools: number | null, ended_at_ms: number | null, exit: ExitCause | null, };

export type RuntimeCheck = { 
/**
 * `node`, `npm`, `uv`, `python`, `docker`, `podman` or `dnx`.
 */
runtime: string, path?: string | null, version?: string | null, 
/**
 * Where it was found: `PATH`, `login shell`, or a version manager's directory.
 */
found_via?: string | null, 
/**
 * Package types that need it.
 */
needed_by: Array<string>, 
/**
 * How to install it, when it is missing.
 */
fix?: string | null, };

export type SecretResults = "redact" | "block" | "allow";

export type SecretValues = { [key in string]: string };

export type SecretView = { 
/**
 * The env var (or header, for a remote server) it fills.
 */
name: string, 
/**
 * Its name in the keychain.
 */
key: string, 
/**
 * Whether the keychain has a value for it.
 */
set: boolean, };

export type SecretsCheck = { 
/**
 * Where secret values live, in words.
 */
store: string, 
/**
 * Why it cannot be used now, if it cannot.
 */
error?: string | null, };

export type Selection = "all" | { "only": Array<string> } | { "except": Array<string> };

export type ServerCounts = { total: number, running: number, 
/**
 * On demand and asleep: listed from their last run, started by the first call.
 */
sleeping: number, failing: number, };

export type ServerName = string;

export type ServerSpec = { name: ServerName, transport: Transport, restart: RestartPolicy, health?: Health, sharing?: Sharing, protocol?: Protocol, start?: Start, 
/**
 * The registry version it was installed from, if it was.
 */
origin?: Origin | null, };

export type ServerState = { "state": "stopped" } | { "state": "starting", pid: number | null, } | { "state": "running", pid: number | null, since_ms: number, tools: number, server_info: PeerInfo | null, } | { "state": "sleeping", since_ms: number, 
/**
 * Tools its last run listed.
 */
tools: number, } | { "state": "backing_off", attempt: number, until_ms: number, last: FailureReason, } | { "state": "crash_looping", restarts: number, window_secs: number, last: FailureReason, } | { "state": "failed", reason: FailureReason, };

export type ServerView = { 
/**
 * Desired state: enabled servers are started with the daemon.
 */
enabled: boolean, status: ServerState, 
/**
 * Restarts the supervisor made since the daemon started.
 */
restarts: number, usage: ResourceUsage | null, name: ServerName, transport: Transport, restart: RestartPolicy, health?: Health, sharing?: Sharing, protocol?: Protocol, start?: Start, 
/**
 * The registry version it was installed from, if it was.
 */
origin?: Origin | null, };

export type SetSecret = { value: string, };

export type SetUpClients = { 
/**
 * Client ids to route through Switchboard; empty for every client found on this machine.
 */
clients: Array<string>, dry_run: boolean, };

export type SetUpReport = { dry_run: boolean, adopted: Array<AdoptedServer>, 
/**
 * Entries left where they are, with the reason.
 */
skipped: Array<SkippedEntry>, 
/**
 * Each client's change (with its diff, when dry).
 */
clients: Array<ClientChange>, 
/**
 * Clients that could not be changed (their file cannot be read, say), with the reason;
 * the others were changed all the same.
 */
failed: Array<SkippedEntry>, };

export type Sharing = "shared" | "per-session";

export type ShellCheck = { shell?: string | null, 
/**
 * Directories the login shell's PATH adds to the daemon's own.
 */
added_dirs: Array<string>, error?: string | null, };

export type SignInCode = { code: string, 
/**
 * The dashboard address that redeems it (the code travels in the fragment, never in a
 * request line or a log).
 */
url: string, };

export type SkippedEntry = { client: string, entry: string, reason: string, };

export type Start = { mode: StartMode, 
/**
 * On demand: how long the server stays up with no call in flight, no call made and no
 * resource subscription before it sleeps again.
 */
idle_after_ms: number, 
/**
 * A per-session server: how many processes its sessions may have at once.
 */
max_processes: number, };

export type StartMode = "always" | "on-demand";

export type StoreCheck = { path: string, last_backup?: string | null, last_backup_ms?: number | null, };

export type TailnetPeer = { host_name: string, dns_name?: string | null, 
/**
 * The address it was reached at.
 */
address: string, os: string, 
/**
 * Its Switchboard version.
 */
switchboard: string, 
/**
 * The servers it exposes to this node's user.
 */
servers: Array<OfferedServer>, };

export type TailnetState = "running" | "needs_login" | "stopped" | "not_running" | "not_installed";

export type TailnetStatus = { state: TailnetState, 
/**
 * The node's short name and full MagicDNS name, once logged in.
 */
host_name?: string | null, dns_name?: string | null, addresses: Array<string>, tailnet?: string | null, version?: string | null, 
/**
 * What is wrong and how to fix it, when the state is not `running` or a tailnet
 * listener could not be opened.
 */
message?: string | null, 
/**
 * The port tailnet peers reach this node's Switchboard on.
 */
port: number, 
/**
 * Where the tailnet listener is open (`IP:PORT`): this node's Tailscale addresses while
 * Tailscale runs and a server is exposed, else nowhere.
 */
listening: Array<string>, 
/**
 * Where Tailscale Serve offers the exposed servers over HTTPS, when it does.
 */
https?: string | null, exposed: Array<Exposure>, };

export type TokenView = { name: string, created_at_ms: number, last_used_ms: number | null, 
/**
 * The profile it uses; `None`: every enabled server.
 */
profile: string | null, 
/**
 * What its tools cost, once the daemon counted them.
 */
cost: ToolCost | null, };

export type ToolCost = { 
/**
 * The tools it is offered.
 */
tools: number, 
/**
 * Their definitions (name, description, schemas) in o200k_base tokens: an estimate for
 * other model families.
 */
tokens: number, 
/**
 * What they may cost before the client is warned: its own budget, or the daemon's.
 */
budget: number, };

export type ToolOverride = { name?: string | null, title?: string | null, description?: string | null, annotations?: Hints, };

export type ToolView = { name: string, title?: string | null, description?: string | null, 
/**
 * What its definition costs a model's context, in tokens (o200k_base; an estimate for
 * other model families).
 */
tokens: number, 
/**
 * Held back from clients until approved: new, or changed since it was approved.
 */
held?: boolean, };

export type Transport = { "type": "stdio" } & Launch | { "type": "local_http", url: string, command: string, args?: Array<string>, cwd?: string | null, env?: { [key in string]: ValueSource }, } | { "type": "remote_http", url: string, headers?: { [key in string]: ValueSource }, };

export type TrustUpdates = { trust: boolean, };

export type UndoClients = { 
/**
 * Undo the last change to this client's files; `None` for the last change to any.
 */
client: string | null, 
/**
 * Undo exactly this operation instead (a `ClientChange`'s), if it is not undone yet and
 * its files still hold what it wrote.
 */
operation: number | null, };

export type UnwrittenRecords = { 
/**
 * Tool calls held in memory, written once the database takes writes again.
 */
calls_waiting: number, 
/**
 * Tool calls given up on (more were waiting than the daemon keeps).
 */
calls_lost: number, 
/**
 * Server starts and exits that are missing from the run history.
 */
runs_lost: number, 
/**
 * Why writing fails now, with what to do; `None` once it works again.
 */
problem?: string | null, };

export type UpdateOutcome = "up_to_date" | "updated" | "available";

export type UpdateReport = { server: ServerName, from: string, to: string, outcome: UpdateOutcome, inputs: InputChanges, 
/**
 * Tools the new version listed in its health check.
 */
tools?: number | null, warnings: Array<string>, };

export type UpdateServer = { 
/**
 * An exact version; the latest when absent.
 */
version: string | null, 
/**
 * Values for inputs the new version adds, by field key.
 */
values: { [key in string]: Array<string> }, dry_run: boolean, 
/**
 * Container runtime flags to allow beyond those allowed at install (see [`InstallServer`]).
 */
allow_runtime_args: Array<string>, 
/**
 * Run the npm package's install scripts from now on.
 */
allow_scripts: boolean, 
/**
 * Resolve npm and PyPI dependencies as they are today, not as of the new version's
 * publish time, from now on (an install with `latest_deps` keeps it too).
 */
latest_deps: boolean, };

export type UseBudget = { tokens: number | null, };

export type UseProfile = { profile: string | null, };

export type ValueSource = string | { secret: string, };

export type Wiring = { 
/**
 * One entry per server; `None` for one aggregate entry with every enabled server.
 */
servers: Array<string> | null, 
/**
 * Write the entries back when the client or the user removes or changes them.
 */
reapply: boolean, };
