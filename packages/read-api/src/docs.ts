/**
 * The read-api's routes as documented in its OpenAPI document, one `detail` per route
 * (packages/read-api/src/app.ts attaches them). Parameter rules repeat what the handlers check.
 */

import { IMAGE_STATUSES, operation, REPOSITORY_PATTERN, UUID_PATTERN } from "@a4c/shared";
import { Type } from "@sinclair/typebox";
import { DEFAULT_LOG_LINES, LINE_ID_PATTERN, MAX_LOG_LINES, RECENT_TICKS } from "./images.ts";

const uuid = (what: string) =>
  Type.String({ pattern: UUID_PATTERN.source, description: `the ${what} (a lowercase UUID)` });
const limit = (max: number, byDefault: number) =>
  Type.Integer({ minimum: 1, maximum: max, default: byDefault, description: "items per page" });
const cursor = Type.String({ description: "the previous page's cursor" });
/** What a CI token is told on every route but the few that follow image builds. */
const NOT_FOR_CI = "A CI token is 403.";

export const readApiDocs = {
  status: operation({
    summary: "An operation's status",
    description:
      "pending while the request waits to be processed, then completed or failed. With ?wait, answers as soon as " +
      "the status leaves pending, or after that many seconds. Another principal's operation is 404 (a CI token " +
      "sees the operations it requested).",
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
    description: NOT_FOR_CI,
    tags: ["users"],
    ok: { status: 200, description: "The admin, or the user the token belongs to", schema: "Me" },
    errors: [401, 403, 404, 503],
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
    description: `Another user's workspace is 404. ${NOT_FOR_CI}`,
    tags: ["workspaces"],
    params: { workspaceId: uuid("workspace's id") },
    ok: { status: 200, description: "The workspace", schema: "Workspace" },
    errors: [400, 401, 403, 404, 503],
  }),
  jobSearch: operation({
    summary: "Search jobs",
    description:
      'q filters: status:failed type:workspace_create project:backend-api owner:me host:… repository:team/app image:… "a phrase", ' +
      "joined by spaces (AND), OR, and - to negate. A user only ever finds its own jobs. Answered by Elasticsearch, " +
      `or by PostgreSQL (degraded: true) when Elasticsearch cannot. ${NOT_FOR_CI}`,
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
    errors: [400, 401, 403, 503],
  }),
  jobEvents: operation({
    summary: "Live job changes as server-sent events",
    description:
      "`event: ready` at once; then `event: job` for each committed change of a job the caller may see (its own, " +
      "or every job for the admin), data {id, userId, type, status, step, version}; `event: resync` when changes " +
      `may have been missed (read afresh); a keep-alive comment every 15 s. The stream stays open. ${NOT_FOR_CI}`,
    tags: ["jobs"],
    query: { ids: Type.String({ description: "only these jobs: at most 100 job ids, comma-separated" }) },
    ok: {
      status: 200,
      description: "An event stream",
      content: { type: "text/event-stream", schema: { type: "string" } },
    },
    errors: [400, 401, 403, 503],
  }),
  job: operation({
    summary: "A job with its steps",
    description:
      "Another user's job is 404. An image build belongs to no user: the admin, every user and CI tokens may read " +
      "it; a CI token reads no other job (404).",
    tags: ["jobs"],
    params: { jobId: uuid("job's id") },
    ok: { status: 200, description: "The job", schema: "Job" },
    errors: [400, 401, 404, 503],
  }),
  jobLog: operation({
    summary: "A job's output lines (an image build's log)",
    description:
      "In order, after line `after`. `next` is the last line's id when more lines follow now, null when the page " +
      "reached the end of what is written so far: to follow a running build, ask again with after = the last " +
      "line's id. Read like the job itself (another user's job is 404).",
    tags: ["jobs"],
    params: { jobId: uuid("job's id") },
    query: {
      after: Type.String({ pattern: LINE_ID_PATTERN, default: "0", description: "the last line id seen" }),
      limit: Type.Integer({
        minimum: 1,
        maximum: MAX_LOG_LINES,
        default: DEFAULT_LOG_LINES,
        description: "lines per page",
      }),
    },
    ok: { status: 200, description: "One page of lines", schema: "JobLog" },
    errors: [400, 401, 404, 503],
  }),
  images: operation({
    summary: "Images, newest first",
    description: "Every principal may list images (users pick one for their workspaces).",
    tags: ["images"],
    query: {
      repository: Type.String({ pattern: REPOSITORY_PATTERN, description: "only this repository's (any case)" }),
      status: Type.Union(
        IMAGE_STATUSES.map((s) => Type.Literal(s)),
        { description: "only images in this status (any case)" },
      ),
      limit: limit(200, 50),
      cursor,
    },
    ok: { status: 200, description: "One page", schema: "ImagePage" },
    errors: [400, 401, 503],
  }),
  image: operation({
    summary: "An image, with the hosts that hold it",
    tags: ["images"],
    params: { imageId: uuid("image's id") },
    ok: { status: 200, description: "The image", schema: "Image" },
    errors: [400, 401, 404, 503],
  }),
  schedules: operation({
    summary: `Build schedules with their latest ${RECENT_TICKS} ticks (admin)`,
    tags: ["images"],
    ok: { status: 200, description: "Every schedule, newest first", schema: "Schedules" },
    errors: [401, 403, 503],
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
