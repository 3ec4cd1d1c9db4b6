// The UI's only way to the daemon: the control API, with the browser token this tab got by
// redeeming a one-time sign-in code. The token lives in this origin's storage (per port), is
// sent as a bearer token, and ends when the daemon stops.
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { ApiErrorBody, BrowserToken } from "./types.gen";

const TOKEN_KEY = "switchboard.token";

/** An API answer that was not a success, with the daemon's own message saying how to fix it. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const signedIn = (): boolean => localStorage.getItem(TOKEN_KEY) !== null;

export async function signIn(code: string): Promise<void> {
  localStorage.removeItem(TOKEN_KEY);
  const { token } = await api<BrowserToken>("POST", "/web/sessions", { code });
  localStorage.setItem(TOKEN_KEY, token);
}

export async function signOut(): Promise<void> {
  await api("DELETE", "/web/sessions").catch(() => undefined);
  localStorage.removeItem(TOKEN_KEY);
}

function headers(json: boolean): HeadersInit {
  const h: Record<string, string> = {};
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) h.Authorization = `Bearer ${token}`;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function failure(response: Response): Promise<ApiFailure> {
  if (response.status === 401) localStorage.removeItem(TOKEN_KEY);
  try {
    const { error } = (await response.json()) as { error: ApiErrorBody };
    return new ApiFailure(response.status, error.code, error.message);
  } catch {
    return new ApiFailure(response.status, "http_error", `the daemon answered ${response.status} ${response.statusText}`);
  }
}

/**
 * One control API call; rejects with an ApiFailure. A view passes `signal` so that leaving it
 * cancels what it asked for (the rejection is then an AbortError, not an ApiFailure).
 */
export async function api<T = void>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiFailure(0, "daemon_down", "The Switchboard daemon is not answering. Start it with `switchboard daemon` or open the Switchboard app.");
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Follows a server-sent event stream of the API until `signal` aborts or the stream ends.
 * fetch, not EventSource: EventSource cannot send the bearer token. Framing is
 * eventsource-parser's (multi-line data, CRLF, comments), not ours.
 */
export async function stream(
  path: string,
  each: (event: string, data: string) => void,
  signal: AbortSignal,
  opened?: () => void,
): Promise<void> {
  const response = await fetch(`/api/v1${path}`, { headers: { ...headers(false), Accept: "text/event-stream" }, signal });
  if (!response.ok || !response.body) throw await failure(response);
  opened?.();
  const events = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  const reader = events.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    each(value.event ?? "message", value.data);
  }
}
