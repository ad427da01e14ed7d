/**
 * The dashboard's API client: same origin (the front door passes /v1, /status and /ops on), the
 * token from this tab's session, problem+json errors as `ApiError`s with the server's own words.
 * Writes take one Idempotency-Key per user action and keep it across retries of a 503 or 429, so
 * a retried click never creates twice.
 */
import type { Api } from "@a4c/shared/answers";
import { createParser } from "eventsource-parser";

const TOKEN_KEY = "a4c.token";

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${title}: ${detail}`);
  }
}

async function errorOf(r: Response): Promise<ApiError> {
  try {
    const p = (await r.json()) as { title?: string; detail?: string };
    return new ApiError(r.status, p.title ?? r.statusText, p.detail ?? "");
  } catch {
    return new ApiError(r.status, r.statusText || "Error", `the server answered ${r.status}`);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken();
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(path, { headers: headers(), signal });
  if (!r.ok) throw await errorOf(r);
  return (await r.json()) as T;
}

const RETRIES = 5;

/** A write through the gateway: 202 and its body, retried on 503/429 with the same key. */
export async function write<T>(method: "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
  const key = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    let r: Response | null = null;
    try {
      r = await fetch(path, {
        method,
        headers: headers({
          "idempotency-key": key,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (attempt >= RETRIES) throw err;
    }
    if (r && r.status !== 503 && r.status !== 429) {
      if (!r.ok) throw await errorOf(r);
      return (await r.json()) as T;
    }
    if (r && attempt >= RETRIES) throw await errorOf(r);
    const wait = Number(r?.headers.get("retry-after") ?? "1");
    await new Promise((ok) => setTimeout(ok, Math.min(Number.isFinite(wait) ? wait : 1, 10) * 1000));
  }
}

/** An operator action on one of the services behind /ops/… (admin token). */
export async function ops<T>(method: "GET" | "POST", path: string): Promise<T> {
  const r = await fetch(path, { method, headers: headers() });
  if (!r.ok) throw await errorOf(r);
  return (await r.json()) as T;
}

/**
 * Reads a server-sent event stream (fetch, so the token goes in a header, which EventSource
 * cannot do), calling `onEvent` with each event's name and parsed data. With `reconnect`, a
 * stream that ends or fails is opened again after 2 s; the returned function stops it for good.
 */
export function listen(
  path: string,
  onEvent: (name: string, data: unknown) => void,
  opts: { reconnect: boolean },
): () => void {
  const controller = new AbortController();
  const once = async () => {
    const r = await fetch(path, { headers: headers({ accept: "text/event-stream" }), signal: controller.signal });
    if (!r.ok || !r.body) return;
    const parser = createParser({ onEvent: (e) => onEvent(e.event ?? "message", JSON.parse(e.data)) });
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  };
  (async () => {
    do {
      await once().catch(() => {});
      if (!opts.reconnect || controller.signal.aborted) return;
      await new Promise((ok) => setTimeout(ok, 2000));
    } while (!controller.signal.aborted);
  })();
  return () => controller.abort();
}

/** Follows an operation and then its job over SSE until both are final; returns a stop function. */
export function follow(operationId: string, onView: (view: OperationView) => void): () => void {
  return listen(
    `/status/${encodeURIComponent(operationId)}/events?follow=job`,
    (name, data) => {
      if (name === "status") onView(data as OperationView);
    },
    { reconnect: false },
  );
}

export type { JobChange } from "@a4c/shared/answers";

export type OperationView = Api["OperationView"];
export type Me = Api["Me"];
export type JobDoc = Api["JobSearchAnswer"]["items"][number];
export type SearchAnswer = Api["JobSearchAnswer"];
export type JobView = Api["Job"];
export type Workspace = Api["Workspace"];
export type Host = Api["Host"];
export type Image = Api["Image"];
export type ImagePage = Api["ImagePage"];
export type JobLog = Api["JobLog"];
export type LogLine = JobLog["lines"][number];
export type Schedule = Api["Schedules"]["items"][number];
export type { Api, SearchDlqPage, WritesDlqPage, WritesReplayReport } from "@a4c/shared/answers";

export const FINAL_JOB = new Set(["COMPLETED", "FAILED", "CANCELED"]);
