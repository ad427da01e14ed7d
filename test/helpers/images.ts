/** Image builds in tests: request bodies with a commit of their own, and waiting for the image. */
import { randomBytes } from "node:crypto";
import type { Sql } from "@a4c/shared";
import { type Answer, post } from "./client.ts";
import type { TestStack } from "./stack.ts";
import { until } from "./wait.ts";

/** A commit SHA no other test run uses: image ids and tags derive from repository + commit. */
export const randomSha = () => randomBytes(20).toString("hex");

export const SMALL_DOCKERFILE = [
  "FROM a4c/base:latest",
  "COPY hello.txt /opt/app/hello.txt",
  "RUN echo built-by-a4c > /opt/app/built.txt && cat /opt/app/hello.txt",
  'CMD ["cat", "/opt/app/hello.txt"]',
].join("\n");

export function buildBody(repository: string, o: { sha?: string; dockerfile?: string; ref?: string } = {}) {
  return {
    repository,
    commitSha: o.sha ?? randomSha(),
    dockerfile: o.dockerfile ?? SMALL_DOCKERFILE,
    files: { "hello.txt": `hello from ${repository}\n` },
    ...(o.ref ? { ref: o.ref } : {}),
  };
}

export function requestBuild(stack: TestStack, body: unknown, token?: string, key?: string): Promise<Answer> {
  return post(stack, "/v1/images/builds", body, { ...(token ? { token } : {}), ...(key ? { key } : {}) });
}

export interface ImageRow {
  id: string;
  status: string;
  tag: string;
  digest: string | null;
  size_bytes: string | null;
  job_id: string;
}

export async function imageRow(sql: Sql, id: string): Promise<ImageRow | null> {
  const [row] = await sql<ImageRow[]>`
    SELECT id::text, status, tag, digest, size_bytes::text, job_id::text FROM image WHERE id = ${id}`;
  return row ?? null;
}

/** Waits until the image leaves BUILDING; its row. */
export async function settledImage(sql: Sql, id: string, timeoutMs = 120_000): Promise<ImageRow> {
  let row: ImageRow | null = null;
  await until(
    `image ${id} built or failed`,
    async () => {
      row = await imageRow(sql, id);
      return row !== null && row.status !== "BUILDING";
    },
    timeoutMs,
    200,
  );
  return row as unknown as ImageRow;
}

/** A CI token made through the API (admin), ready to use. */
export async function createCiToken(stack: TestStack, name = "ci"): Promise<string> {
  const r = await post(stack, "/v1/tokens", { kind: "ci", name });
  if (r.status !== 202) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
  await until("the ci token", async () => {
    const [row] = await stack.sql`SELECT 1 FROM api_token WHERE id = ${r.body.tokenId as string}`;
    return row !== undefined;
  });
  return r.body.token as string;
}
