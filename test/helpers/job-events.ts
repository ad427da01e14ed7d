/** An open `GET /v1/jobs/events` stream in a test, collecting the events that arrive. */
import { expect } from "bun:test";
import { createParser } from "eventsource-parser";
import { until } from "./wait.ts";

export interface JobEvent {
  name: string;
  data: Record<string, unknown>;
}

export interface JobEventStream {
  events: JobEvent[];
  /** The `job` events of one job, in order. */
  jobs(id: string): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Opens the stream (`query` like "?ids=…") and waits for its `ready` event. */
export async function openJobEvents(readApiUrl: string, token: string, query = ""): Promise<JobEventStream> {
  const controller = new AbortController();
  const r = await fetch(`${readApiUrl}/v1/jobs/events${query}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe("text/event-stream");
  const events: JobEvent[] = [];
  const parser = createParser({
    onEvent: (e) => {
      if (e.event) events.push({ name: e.event, data: JSON.parse(e.data) as Record<string, unknown> });
    },
  });
  const done = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of r.body as ReadableStream<Uint8Array>)
        parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // aborted by close()
    }
  })();
  await until("the stream is ready", async () => events.some((e) => e.name === "ready"), 5_000, 20);
  return {
    events,
    jobs: (id) => events.filter((e) => e.name === "job" && e.data.id === id).map((e) => e.data),
    async close() {
      controller.abort();
      await done;
    },
  };
}
