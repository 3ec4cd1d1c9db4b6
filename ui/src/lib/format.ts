// How the UI words the daemon's facts: states, sizes, durations, times.
import type { FailureReason, ServerState, ServerView, Transport } from "../api/types.gen";

export type Tone = "ok" | "busy" | "warn" | "bad" | "off";

export function stateOf(state: ServerState): { label: string; tone: Tone } {
  switch (state.state) {
    case "running":
      return { label: "running", tone: "ok" };
    case "sleeping":
      return { label: "sleeping", tone: "off" };
    case "starting":
      return { label: "starting", tone: "busy" };
    case "backing_off":
      return { label: `restarting (attempt ${state.attempt})`, tone: "warn" };
    case "crash_looping":
      return { label: "crash loop", tone: "bad" };
    case "failed":
      return { label: state.reason.kind === "needs_login" ? "needs login" : "failed", tone: "bad" };
    case "stopped":
      return { label: "stopped", tone: "off" };
  }
}

/** Why a server is not running, in the daemon's words, or null. */
export function problemOf(state: ServerState): FailureReason | null {
  switch (state.state) {
    case "backing_off":
    case "crash_looping":
      return state.last;
    case "failed":
      return state.reason;
    default:
      return null;
  }
}

export function describeFailure(reason: FailureReason): string {
  switch (reason.kind) {
    case "program_not_found":
      return `The program ${reason.program} was not found. Install it, or check the command in Settings.`;
    case "spawn_failed":
      return `It could not be started: ${reason.message}`;
    case "exited_during_startup":
      return "It exited while starting.";
    case "handshake_timeout":
      return `It did not answer the MCP handshake within ${Math.round(reason.after_ms / 1000)} s.`;
    case "handshake_failed":
      return `The MCP handshake failed: ${reason.message}`;
    case "port_in_use":
      return `Port ${reason.port} is already in use by another program.`;
    case "crashed":
      return "It crashed.";
    case "secret_unavailable":
      return `The secret ${reason.key} is not available: ${reason.message}`;
    case "needs_login":
      return reason.message;
  }
}

export function stderrOf(reason: FailureReason): string | null {
  return "stderr_tail" in reason && reason.stderr_tail ? reason.stderr_tail : null;
}

export function transportOf(transport: Transport): string {
  switch (transport.type) {
    case "stdio":
      return ["stdio:", transport.command, ...(transport.args ?? [])].join(" ");
    case "local_http":
      return `local HTTP: ${transport.url}`;
    case "remote_http":
      return `remote: ${transport.url}`;
  }
}

export function toolsOf(server: ServerView): number | null {
  const status = server.status;
  return status.state === "running" || status.state === "sleeping" ? status.tools : null;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

export function when(ms: number): string {
  return new Date(ms).toLocaleString();
}

export function ago(ms: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

/** "1 tool", "3 tools". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** How long since `ms`, for "up 53 s". */
export function uptime(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d`;
}

/**
 * The environment variable a failure says is missing ("missing API_KEY", "BRAVE_API_KEY is not
 * set", "GITHUB_TOKEN environment variable is required"), or null.
 */
export function missingVariable(reason: FailureReason): string | null {
  const text = [stderrOf(reason) ?? "", "message" in reason ? String(reason.message) : ""].join("\n");
  for (const line of text.split("\n")) {
    if (!/missing|not set|not defined|undefined|required|must be set|is empty|no .* (given|provided)/i.test(line)) continue;
    const name = line.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b/)?.[0];
    if (name) return name;
  }
  return null;
}
