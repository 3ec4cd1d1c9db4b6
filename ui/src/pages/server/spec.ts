// A server's spec as the Settings and New server forms edit it: plain strings and rows, turned
// back into the daemon's spec on save. Secret references are carried through untouched; the
// Secrets tab owns them.
import type { RestartPolicy, ServerSpec, Sharing, Transport, ValueSource } from "../../api/types.gen";

export type Kind = "stdio" | "local_http" | "remote_http";
export interface Row {
  name: string;
  value: string;
}
export interface Draft {
  kind: Kind;
  command: string;
  /** One argument per line, so arguments with spaces need no quoting. */
  args: string;
  cwd: string;
  url: string;
  /** Literal env values (or, for a remote server, headers). */
  values: Row[];
  restart: RestartPolicy;
  sharing: Sharing;
}

export function draftOf(spec: ServerSpec): Draft {
  const t = spec.transport;
  const launch = t.type === "remote_http" ? null : t;
  const values = (t.type === "remote_http" ? t.headers : t.env) ?? {};
  return {
    kind: t.type,
    command: launch?.command ?? "",
    args: (launch?.args ?? []).join("\n"),
    cwd: launch?.cwd ?? "",
    url: t.type === "stdio" ? "" : t.url,
    values: Object.entries(values)
      .filter((entry): entry is [string, string] => typeof entry[1] === "string")
      .map(([name, value]) => ({ name, value })),
    restart: spec.restart,
    sharing: spec.sharing ?? "shared",
  };
}

/** The spec `draft` describes, keeping `base`'s secret references and what the form does not show. */
export function specOf(draft: Draft, base: ServerSpec): ServerSpec {
  const old = base.transport;
  const oldValues = (old.type === "remote_http" ? old.headers : old.env) ?? {};
  const values: Record<string, ValueSource> = Object.fromEntries(Object.entries(oldValues).filter(([, v]) => typeof v !== "string"));
  for (const row of draft.values) {
    const name = row.name.trim();
    // An empty row never replaces a secret the Secrets tab set.
    if (name && !(row.value === "" && typeof values[name] === "object")) values[name] = row.value;
  }
  const args = draft.args.split("\n").map((a) => a.trim()).filter((a) => a !== "");
  const launch = { command: draft.command.trim(), args, cwd: draft.cwd.trim() || null, env: values };
  let transport: Transport;
  if (draft.kind === "stdio") transport = { type: "stdio", ...launch };
  else if (draft.kind === "local_http") transport = { type: "local_http", url: draft.url.trim(), ...launch };
  else transport = { type: "remote_http", url: draft.url.trim(), headers: values };
  return { ...base, transport, restart: draft.restart, sharing: draft.kind === "stdio" ? draft.sharing : base.sharing };
}

/** The spec part of a server view: what PUT takes back. */
export function savedSpec(server: ServerSpec & Record<string, unknown>): ServerSpec {
  const { enabled: _e, status: _s, restarts: _r, usage: _u, ...spec } = server;
  return spec as ServerSpec;
}

/** Names that hold credentials by the usual conventions (the daemon keeps them in the keychain). */
export function looksLikeCredential(name: string): boolean {
  return /(^|[^A-Z0-9])(API|ACCESS|PRIVATE|SECRET|AUTH|BEARER|SESSION|CLIENT)?(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH|AUTHORIZATION|COOKIE|PAT)([^A-Z0-9]|$)/.test(name.toUpperCase());
}
