import { afterAll, beforeAll, expect, test } from "bun:test";
import { expectProblem, post } from "../helpers/client.ts";
import { startStack, type TestStack } from "../helpers/stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack("ratelimit", {
    services: ["write-gateway"],
    env: { A4C_RATE_LIMIT_PER_SEC: "5", A4C_RATE_LIMIT_BURST: "0" },
  });
});
afterAll(() => stack.stop());

test("over the per-token rate: 429 with Retry-After, and nothing stored", async () => {
  const answers = [];
  for (let i = 0; i < 12; i++) answers.push(await post(stack, "/v1/users", { name: "n", email: `r${i}@example.com` }));
  const limited = answers.filter((a) => a.status === 429);
  expect(answers.filter((a) => a.status === 202).length).toBeGreaterThanOrEqual(5);
  expect(limited.length).toBeGreaterThan(0);
  for (const r of limited) {
    expectProblem(r, 429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  }
  const { jetstreamManager } = await import("@a4c/shared");
  const info = await (await jetstreamManager(stack.nc)).streams.info(stack.names.writes);
  expect(info.state.messages).toBe(answers.length - limited.length);
});
