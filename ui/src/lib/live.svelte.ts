// What every page shares: the servers as the daemon last reported them, whether the event
// stream is connected, drift alerts, and pausing every server (the daemon's `paused` flag).
// The event stream keeps it current; pages that show usage poll for it, since CPU and memory
// are not events. New data is merged into the objects pages already hold, field by field, so
// a poll that changes nothing re-runs nothing.
import { ApiFailure, api, signedIn, stream } from "../api/client";
import type { DaemonStatus, Event, PauseState, ServerView, SetUpReport } from "../api/types.gen";

export type Connection = "connecting" | "live" | "down" | "signed-out";

export interface Drift {
  client: string;
  path: string;
  entries: string[];
  reapplied: boolean;
}

export const live = $state({
  servers: [] as ServerView[],
  loaded: false,
  status: null as DaemonStatus | null,
  connection: "connecting" as Connection,
  problem: null as string | null,
  drifts: [] as Drift[],
  /** Counts event-stream (re)connections: a view that reads it reloads after a gap. */
  epoch: 0,
  /** Counts tool calls written to the history since the page opened (Activity follows it). */
  calls: 0,
  /** What the first run's action did, shown (with its Undo) until dismissed. */
  setUp: null as SetUpReport | null,
});

/** Copies what changed from `next` into `into`, so readers of unchanged fields are not woken. */
function merge<T extends object>(into: T, next: T): void {
  for (const key of new Set([...Object.keys(into), ...Object.keys(next)]) as Set<keyof T>) {
    if (!(key in next)) delete into[key];
    else if (JSON.stringify(into[key]) !== JSON.stringify(next[key])) into[key] = next[key];
  }
}

function mergeServers(next: ServerView[]): void {
  const known = new Map(live.servers.map((s) => [s.name, s]));
  for (const server of next) {
    const held = known.get(server.name);
    if (held) merge(held, server);
  }
  const sameNames = next.length === live.servers.length && next.every((s, i) => live.servers[i]?.name === s.name);
  if (!sameNames) live.servers = next.map((s) => known.get(s.name) ?? s);
}

export async function refresh(): Promise<void> {
  try {
    const [servers, status] = await Promise.all([api<ServerView[]>("GET", "/servers"), api<DaemonStatus>("GET", "/status")]);
    mergeServers(servers);
    if (live.status) merge(live.status, status);
    else live.status = status;
    live.loaded = true;
    live.problem = null;
  } catch (e) {
    noteFailure(e);
  }
}

/** Pauses every server (`switchboard pause`) or resumes them; the daemon's status says which. */
export async function setPaused(paused: boolean): Promise<void> {
  const state = await api<PauseState>("POST", paused ? "/pause" : "/resume");
  if (live.status) live.status.paused = state.paused;
  await refresh();
}

function noteFailure(e: unknown): void {
  if (e instanceof ApiFailure && e.status === 401) live.connection = "signed-out";
  else if (e instanceof ApiFailure && e.status === 0) live.connection = "down";
  live.problem = e instanceof Error ? e.message : String(e);
}

function apply(event: Event): void {
  switch (event.type) {
    case "state_changed": {
      const server = live.servers.find((s) => s.name === event.name);
      if (server) server.status = event.status;
      else void refresh();
      break;
    }
    case "calls_recorded":
      live.calls += event.count;
      break;
    case "client_drifted":
      live.drifts = [...live.drifts.filter((d) => d.path !== event.path), { ...event }];
      break;
    default:
      void refresh();
  }
}

/** Follows `/events` until the page closes, reconnecting with backoff when the daemon goes. */
export async function follow(signal: AbortSignal): Promise<void> {
  let delay = 500;
  while (!signal.aborted) {
    if (!signedIn()) {
      live.connection = "signed-out";
      return;
    }
    try {
      await refresh();
      await stream(
        "/events",
        (_kind, data) => apply(JSON.parse(data) as Event),
        signal,
        () => {
          live.connection = "live";
          live.epoch += 1;
          delay = 500;
        },
      ).then(() => {
        throw new ApiFailure(0, "daemon_down", "The daemon closed the event stream.");
      });
    } catch (e) {
      if (signal.aborted) return;
      noteFailure(e);
      if (live.connection === "signed-out") return;
      if (live.connection !== "down") live.connection = "connecting";
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 5000);
  }
}
