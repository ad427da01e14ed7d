/**
 * The read-api's routes as documented in its OpenAPI document, one `detail` per route
 * (packages/read-api/src/app.ts attaches them). Parameter rules repeat what the handlers check.
 */

import { operation, UUID_PATTERN } from "@a4c/shared";
import { Type } from "@sinclair/typebox";

const uuid = (what: string) =>
  Type.String({ pattern: UUID_PATTERN.source, description: `the ${what} (a lowercase UUID)` });
const limit = (max: number, byDefault: number) =>
  Type.Integer({ minimum: 1, maximum: max, default: byDefault, description: "items per page" });
const cursor = Type.String({ description: "the previous page's cursor" });

export const readApiDocs = {
  status: operation({
    summary: "An operation's status",
    description:
      "pending while the request waits to be processed, then completed or failed. With ?wait, answers as soon as " +
      "the status leaves pending, or after that many seconds. Another user's operation is 404.",
    tags: ["operations"],
    params: { operationId: Type.String({ description: "the operation id a 202 answer gave" }) },
    query: {
      wait: Type.Number({ minimum: 0, description: "seconds to long-poll (capped by the service's maximum)" }),
    },
    ok: {
      status: 200,
      description: "The status; Retry-After is set while it is pending",
      schema: "OperationView",
    },
    errors: [400, 401, 404, 503],
  }),
  statusEvents: operation({
    summary: "An operation's status as server-sent events",
    description:
      "`event: status` messages whose data is an OperationView: the current one at once, then each change until the " +
      "status is final; with follow=job, then each move of the operation's job until the job ends.",
    tags: ["operations"],
    params: { operationId: Type.String({ description: "the operation id a 202 answer gave" }) },
    query: { follow: Type.Literal("job", { description: "also follow the operation's job" }) },
    ok: {
      status: 200,
      description: "An event stream",
      content: { type: "text/event-stream", schema: { type: "string" } },
    },
    errors: [400, 401, 404, 503],
  }),
  me: operation({
    summary: "Who this token is",
    tags: ["users"],
    ok: { status: 200, description: "The admin, or the user the token belongs to", schema: "Me" },
    errors: [401, 404, 503],
  }),
  user: operation({
    summary: "A user",
    tags: ["users"],
    params: { userId: uuid("user's id") },
    ok: { status: 200, description: "The user", schema: "User" },
    errors: [400, 401, 403, 404, 503],
  }),
  userWorkspaces: operation({
    summary: "A user's workspaces, newest first",
    tags: ["workspaces"],
    params: { userId: uuid("user's id") },
    query: { limit: limit(200, 50), cursor },
    ok: { status: 200, description: "One page", schema: "WorkspacePage" },
    errors: [400, 401, 403, 503],
  }),
  workspace: operation({
    summary: "A workspace",
    description: "Another user's workspace is 404.",
    tags: ["workspaces"],
    params: { workspaceId: uuid("workspace's id") },
    ok: { status: 200, description: "The workspace", schema: "Workspace" },
    errors: [400, 401, 404, 503],
  }),
  jobSearch: operation({
    summary: "Search jobs",
    description:
      'q filters: status:failed type:workspace_create project:backend-api owner:me host:… "a phrase", joined by ' +
      "spaces (AND), OR, and - to negate. A user only ever finds its own jobs. Answered by Elasticsearch, or by " +
      "PostgreSQL (degraded: true) when Elasticsearch cannot.",
    tags: ["jobs"],
    query: {
      q: Type.String({ maxLength: 1000, description: "the filter expression" }),
      from: Type.String({ description: "created at or after: a date or a date-time with a zone" }),
      to: Type.String({ description: "created before: a date or a date-time with a zone" }),
      sort: Type.Union([Type.Literal("createdAt:desc"), Type.Literal("createdAt:asc")], { default: "createdAt:desc" }),
      cursor,
      limit: limit(100, 20),
    },
    ok: { status: 200, description: "One page of matches with their counts", schema: "JobSearchAnswer" },
    errors: [400, 401, 503],
  }),
  jobEvents: operation({
    summary: "Live job changes as server-sent events",
    description:
      "`event: ready` at once; then `event: job` for each committed change of a job the caller may see (its own, " +
      "or every job for the admin), data {id, userId, type, status, step, version}; `event: resync` when changes " +
      "may have been missed (read afresh); a keep-alive comment every 15 s. The stream stays open.",
    tags: ["jobs"],
    query: { ids: Type.String({ description: "only these jobs: at most 100 job ids, comma-separated" }) },
    ok: {
      status: 200,
      description: "An event stream",
      content: { type: "text/event-stream", schema: { type: "string" } },
    },
    errors: [400, 401, 503],
  }),
  job: operation({
    summary: "A job with its steps",
    description: "Another user's job is 404.",
    tags: ["jobs"],
    params: { jobId: uuid("job's id") },
    ok: { status: 200, description: "The job", schema: "Job" },
    errors: [400, 401, 404, 503],
  }),
  hosts: operation({
    summary: "The hosts, with state and disk (admin)",
    tags: ["hosts"],
    ok: { status: 200, description: "Every registered host", schema: "Hosts" },
    errors: [401, 403, 503],
  }),
  cleanupActions: operation({
    summary: "What the cleanup daemon removed, or would have removed in dry-run mode (admin)",
    tags: ["hosts"],
    query: {
      limit: limit(200, 50),
      cursor: Type.String({ pattern: "^[1-9][0-9]{0,17}$", description: cursor.description }),
    },
    ok: { status: 200, description: "One page, newest first", schema: "CleanupPage" },
    errors: [400, 401, 403, 503],
  }),
};
