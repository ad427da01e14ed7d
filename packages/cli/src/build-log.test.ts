import { describe, expect, test } from "bun:test";
import type { JobLog } from "./api.ts";
import { LogTail, logLine, pollLog } from "./build-log.ts";
import { colorsFor } from "./render.ts";

/** A job's log that grows: `get` answers pages of at most `page` lines after `after`, as the read-api does. */
function fakeLog(page = 2) {
  const lines: JobLog["lines"] = [];
  const asked: Array<string | undefined> = [];
  const client = {
    async get<T>(_path: string, query?: Record<string, string | number | undefined>): Promise<T> {
      const after = query?.after as string | undefined;
      asked.push(after);
      await Bun.sleep(1);
      const rest = lines.filter((l) => Number(l.id) > Number(after ?? 0));
      const shown = rest.slice(0, page);
      return { jobId: "j", lines: shown, next: rest.length > page ? (shown.at(-1)?.id ?? null) : null } as T;
    },
  };
  const write = (...texts: string[]) => {
    for (const line of texts) lines.push({ id: String(lines.length + 1), step: "build", line, at: "" });
  };
  return { client, write, asked };
}

describe("a build's log", () => {
  test("each line once, in order, across pages and reads; each read starts after the last line printed", async () => {
    const log = fakeLog(2);
    const printed: string[] = [];
    const tail = new LogTail(log.client, "j", (l) => printed.push(l.line));
    await tail.drain();
    expect(printed).toEqual([]);
    log.write("Step 1/3", "Step 2/3", "Step 3/3", "Successfully built");
    await tail.drain();
    expect(printed).toEqual(["Step 1/3", "Step 2/3", "Step 3/3", "Successfully built"]);
    log.write("more");
    await tail.drain();
    expect(printed).toHaveLength(5);
    expect(tail.count).toBe(5);
    expect(log.asked.at(-1)).toBe("4");
  });

  test("reads asked for at once run one after another: no line twice", async () => {
    const log = fakeLog(1);
    const printed: string[] = [];
    const tail = new LogTail(log.client, "j", (l) => printed.push(l.line));
    log.write("a", "b", "c");
    await Promise.all([tail.drain(), tail.drain(), tail.drain()]);
    expect(printed).toEqual(["a", "b", "c"]);
  });

  test("polling prints lines as they are written, survives a failed read, and stops", async () => {
    const log = fakeLog(10);
    let fail = true;
    const flaky = {
      async get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T> {
        if (fail) {
          fail = false;
          throw new Error("no such job yet");
        }
        return log.client.get<T>(path, query);
      },
    };
    const printed: string[] = [];
    const tail = new LogTail(flaky, "j", (l) => printed.push(l.line));
    const stop = pollLog(tail, 10);
    log.write("one");
    await Bun.sleep(80);
    expect(printed).toEqual(["one"]);
    await stop();
    log.write("two");
    await Bun.sleep(40);
    expect(printed).toEqual(["one"]);
  });

  test("a line while following is set off by a bar", () => {
    const c = colorsFor({ isTTY: false }, {});
    expect(logLine(c, { id: "1", step: "build", line: "Step 1/2 : FROM a4c/base", at: "" })).toBe(
      "  │ Step 1/2 : FROM a4c/base",
    );
  });
});
