/**
 * The gateway's routes as documented in its OpenAPI document, one `detail` per route (app.ts
 * attaches them). Bodies and path parameters are the very schemas requests.ts validates with.
 */
import { type ApiSchemaName, type ErrorStatus, type OperationSpec, operation } from "@a4c/shared";
import { Type } from "@sinclair/typebox";
import {
  BuildImageBody,
  CreateScheduleBody,
  CreateTokenBody,
  CreateUserBody,
  CreateWorkspaceBody,
  RegisterHostBody,
  UuidParam,
} from "./requests.ts";

const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: "^[\\x21-\\x7e]+$",
  description: "1 to 255 printable ASCII characters; a retry with the same key and body is answered the same",
});

const ACCEPTED_HEADERS = {
  Location: {
    description: "/status/<operationId>: where to follow the operation",
    required: true,
    schema: { type: "string" },
  },
  "Retry-After": {
    description: "seconds before the status is worth asking for",
    required: true,
    schema: { type: "integer" },
  },
  "Idempotent-Replayed": { description: "true when this answers an earlier request", schema: { const: "true" } },
};

const ORDER =
  "Checked in this order: token (401), rate limit (429), permission (403), Idempotency-Key (400), " +
  "body (413, 415, 400); then 422 for a key reused with another request, else 202 once the request is stored.";

interface WriteSpec extends Pick<OperationSpec, "summary" | "tags" | "params" | "body"> {
  description: string;
  accepted: ApiSchemaName;
  /** The errors besides 400, 401, 422, 429 and 503, which every write can answer. */
  errors: ErrorStatus[];
}

function write(s: WriteSpec) {
  return operation({
    summary: s.summary,
    description: `${s.description} ${ORDER}`,
    tags: s.tags,
    ...(s.params ? { params: s.params } : {}),
    headers: { "Idempotency-Key": IdempotencyKey },
    ...(s.body ? { body: s.body } : {}),
    errors: [400, 401, ...s.errors, ...(s.body ? ([413, 415] as const) : []), 422, 429, 503],
    ok: {
      status: 202,
      description: "Accepted and stored; processed asynchronously",
      schema: s.accepted,
      headers: ACCEPTED_HEADERS,
    },
  });
}

export const gatewayDocs = {
  createUser: write({
    summary: "Create a user (admin)",
    description: "The 202 answer carries the user's id and API token; the token is shown only there.",
    tags: ["users"],
    body: CreateUserBody,
    accepted: "AcceptedUser",
    errors: [403],
  }),
  createWorkspace: write({
    summary: "Create a workspace",
    description: "Creates the workspace (CREATING) and its WORKSPACE_CREATE job. A user acts only for itself.",
    tags: ["workspaces"],
    params: { userId: UuidParam },
    body: CreateWorkspaceBody,
    accepted: "AcceptedWorkspace",
    errors: [403],
  }),
  deleteWorkspace: write({
    summary: "Delete a workspace",
    description: "Moves the workspace to DELETING with a WORKSPACE_DELETE job. A user acts only for itself.",
    tags: ["workspaces"],
    params: { userId: UuidParam, workspaceId: UuidParam },
    accepted: "AcceptedWorkspace",
    errors: [403],
  }),
  cancelJob: write({
    summary: "Cancel a job (its owner or the admin)",
    description:
      "A SCHEDULED job becomes CANCELED; an IN_PROGRESS one stops at the next step boundary and compensates. " +
      "Whose job it is is decided when the operation is processed: another user's job makes it fail.",
    tags: ["jobs"],
    params: { jobId: UuidParam },
    accepted: "AcceptedJob",
    errors: [],
  }),
  registerHost: write({
    summary: "Register a host (admin)",
    description: "Pin its SSH host key with exactly one of hostKeySha256 and hostKey.",
    tags: ["hosts"],
    body: RegisterHostBody,
    accepted: "AcceptedHost",
    errors: [403],
  }),
  setHostState: write({
    summary: "Drain or activate a host (admin)",
    description: "A draining host gets no new workspaces.",
    tags: ["hosts"],
    params: {
      hostId: UuidParam,
      action: Type.Union([Type.Literal("drain"), Type.Literal("activate")], { description: "any other is 404" }),
    },
    accepted: "AcceptedHost",
    errors: [403, 404],
  }),
  createToken: write({
    summary: "Create a CI token (admin)",
    description:
      "A ci token may request image builds and follow them (their status, images and build logs), nothing else. " +
      "The 202 answer carries the token; it is shown only there.",
    tags: ["tokens"],
    body: CreateTokenBody,
    accepted: "AcceptedToken",
    errors: [403],
  }),
  buildImage: write({
    summary: "Request an image build (ci token or admin)",
    description:
      "Builds `a4c/<repository>:<commitSha>` from the Dockerfile and files on a host, with no network. One build " +
      "per repository and commit: every request for it, whatever its Idempotency-Key, answers the same imageId and " +
      "jobId. A context over the limit is 400; a body over it by more than a quarter is 413.",
    tags: ["images"],
    body: BuildImageBody,
    accepted: "AcceptedBuild",
    errors: [403],
  }),
  createSchedule: write({
    summary: "Create a build schedule (admin)",
    description:
      "At each tick of `cron` (in `timezone`, default UTC) the ref's commit is built again: the commit and context " +
      "of the latest build request seen for that ref. Each tick starts one build however many schedulers run; " +
      "ticks missed while no scheduler ran give one catch-up build.",
    tags: ["images"],
    body: CreateScheduleBody,
    accepted: "AcceptedSchedule",
    errors: [403],
  }),
  deleteSchedule: write({
    summary: "Delete a build schedule (admin)",
    description: "An unknown schedule makes the operation fail (not_found).",
    tags: ["images"],
    params: { scheduleId: UuidParam },
    accepted: "AcceptedSchedule",
    errors: [403],
  }),
};
