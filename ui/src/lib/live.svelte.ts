// What every page shares: the servers as the daemon last reported them, whether the event
// stream is connected, drift alerts, and pausing every server (the daemon's `paused` flag). The event stream keeps it current; pages that show
// usage poll for it, since CPU and memory are not events.
import { ApiFailure, api, signedIn, stream } from "../api/client";
import type { DaemonStatus, Event, PauseState, ServerView } from "../api/types.gen";

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
});

export async function refresh(): Promise<void> {
  try {
    const [servers, status] = await Promise.all([api<ServerView[]>("GET", "/servers"), api<DaemonStatus>("GET", "/status")]);
    live.servers = servers;
    live.status = status;
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
