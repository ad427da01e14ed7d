/**
 * The answers of the public API (ARCHITECTURE §4) as TypeBox schemas, which are JSON Schema: the
 * OpenAPI documents of the gateway and the read-api reference them, and clients may validate or
 * type what they receive with them (`Static<typeof Workspace>`). Only documentation: no service
 * validates its own answers against them; test/integration/openapi.test.ts checks that real
 * answers match.
 */
import { type TSchema, Type } from "@sinclair/typebox";
import { JOB_STATUSES, WORKSPACE_STATUSES } from "../domain/states.ts";

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Instant = Type.String({ format: "date-time" });
const Id = Type.String({ format: "uuid" });
const Count = Type.Integer({ minimum: 0 });
const oneOf = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

const Problem = Type.Object(
  {
    type: Type.String({ description: "a URI naming the kind of problem" }),
    title: Type.String(),
    status: Type.Integer({ description: "the HTTP status, repeated" }),
    detail: Type.String({ description: "what was wrong with this request, in words meant for a person" }),
  },
  { description: "application/problem+json (RFC 9457)" },
);

const OperationId = Type.String({
  pattern: "^op-[uwhi]-[0-9a-f]{24}-[0-9a-f]{12}$",
  description: "an operation id, as a 202 answer gave it",
});

const pending = { operationId: OperationId, status: Type.Literal("pending") };
const AcceptedUser = Type.Object(
  { ...pending, userId: Id, token: Type.String({ description: "the user's API token; shown only here" }) },
  { description: "Accepted: the user is created once the operation completes" },
);
const AcceptedWorkspace = Type.Object(
  { ...pending, workspaceId: Id, jobId: Id },
  { description: "Accepted: the workspace's job is scheduled once the operation completes" },
);
const AcceptedJob = Type.Object({ ...pending, jobId: Id }, { description: "Accepted" });
const AcceptedHost = Type.Object({ ...pending, hostId: Id }, { description: "Accepted" });
const AcceptedToken = Type.Object(
  { ...pending, tokenId: Id, token: Type.String({ description: "the CI token; shown only here" }) },
  { description: "Accepted: the token works once the operation completes" },
);
const AcceptedBuild = Type.Object(
  { ...pending, imageId: Id, jobId: Id },
  { description: "Accepted: every request for one repository and commit answers the same build" },
);
const AcceptedSchedule = Type.Object({ ...pending, scheduleId: Id }, { description: "Accepted" });

const OperationView = Type.Object({
  operationId: OperationId,
  status: oneOf(["pending", "completed", "failed"]),
  entity: Type.Object({
    type: Type.String({ description: "user, workspace, job, hosts, token, image or schedule" }),
    id: Type.String(),
  }),
  job: Type.Optional(Type.Object({ id: Id, status: Type.String(), step: Nullable(Type.String()) })),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  links: Type.Record(Type.String(), Type.String(), { description: "self, and entity and job when known" }),
});

const User = Type.Object({
  id: Id,
  name: Type.String(),
  email: Type.String(),
  version: Count,
  createdAt: Instant,
  updatedAt: Instant,
});

const Me = Type.Union([
  Type.Object({ kind: Type.Literal("admin") }),
  Type.Object({ kind: Type.Literal("user"), user: User }),
]);

const Workspace = Type.Object({
  id: Id,
  userId: Id,
  projectName: Type.String(),
  image: Type.String(),
  status: oneOf(WORKSPACE_STATUSES),
  hostId: Nullable(Id),
  hostName: Nullable(Type.String()),
  containerId: Nullable(Type.String()),
  address: Nullable(Type.String({ description: "host:port of the workspace's SSH" })),
  hostname: Nullable(Type.String()),
  version: Count,
  createdAt: Instant,
  updatedAt: Instant,
});

const Cursor = Nullable(Type.String({ description: "pass as ?cursor= for the next page; null on the last page" }));
const WorkspacePage = Type.Object({ items: Type.Array(Workspace), cursor: Cursor });

const JobType = oneOf(["WORKSPACE_CREATE", "WORKSPACE_DELETE", "IMAGE_BUILD"]);
const JobStatus = oneOf(JOB_STATUSES);

/** What a job and its search document both say first. An image build belongs to no user. */
const jobCore = { id: Id, type: JobType, status: JobStatus, step: Nullable(Type.String()), userId: Nullable(Id) };

const Job = Type.Object({
  ...jobCore,
  workspaceId: Nullable(Id),
  imageId: Nullable(Id),
  operationId: Type.String(),
  attempts: Count,
  error: Nullable(Type.Object({ code: Type.String(), message: Nullable(Type.String()) })),
  hostId: Nullable(Id),
  hostName: Nullable(Type.String()),
  note: Nullable(Type.String()),
  cancelRequested: Type.Boolean(),
  steps: Type.Array(
    Type.Object({
      name: Type.String(),
      status: Type.String(),
      attempts: Count,
      startedAt: Nullable(Instant),
      finishedAt: Nullable(Instant),
      message: Nullable(Type.String()),
    }),
  ),
  version: Count,
  createdAt: Instant,
  updatedAt: Instant,
  startedAt: Nullable(Instant),
  finishedAt: Nullable(Instant),
});

/** A job as the search projection holds it (`JobDocument`). */
const JobHit = Type.Object({
  ...jobCore,
  ownerName: Nullable(Type.String()),
  ownerEmail: Nullable(Type.String()),
  workspaceId: Nullable(Id),
  projectName: Nullable(Type.String()),
  image: Nullable(Type.String({ description: "the workspace's image, or the tag an image build makes" })),
  repository: Nullable(Type.String({ description: "the repository an image build builds" })),
  operationId: Nullable(Type.String()),
  hostId: Nullable(Id),
  hostName: Nullable(Type.String()),
  attempts: Count,
  errorCode: Nullable(Type.String()),
  errorMessage: Nullable(Type.String()),
  createdAt: Instant,
  updatedAt: Instant,
  startedAt: Nullable(Instant),
  finishedAt: Nullable(Instant),
  version: Count,
});

const JobSearchAnswer = Type.Object({
  items: Type.Array(JobHit),
  total: Count,
  totalRelation: Type.Union([Type.Literal("eq"), Type.Literal("gte")], {
    description: "gte: total is a lower bound (the PostgreSQL fallback on a large match set)",
  }),
  facets: Type.Object({
    status: Type.Record(Type.String(), Count, { description: "matches per status (lowercase keys)" }),
    type: Type.Record(Type.String(), Count, { description: "matches per type (lowercase keys)" }),
  }),
  cursor: Cursor,
  source: Type.Union([Type.Literal("elasticsearch"), Type.Literal("postgres")]),
  degraded: Type.Boolean({ description: "true when PostgreSQL answered because Elasticsearch could not" }),
});

const Host = Type.Object({
  id: Id,
  name: Type.String(),
  sshAddress: Type.String({ description: "host:port" }),
  state: oneOf(["active", "draining", "unreachable"]),
  disk: Type.Object({
    usedBytes: Count,
    reservedBytes: Count,
    totalBytes: Count,
    limited: Type.Boolean({ description: "whether totalBytes is a configured limit rather than the disk's size" }),
    filesystemFreeBytes: Count,
    usedPercent: Nullable(Type.Number({ description: "(used + reserved) / total, in percent" })),
    checkedAt: Nullable(Instant),
  }),
  workspaces: Count,
  ports: Type.Object({ min: Type.Integer(), max: Type.Integer() }),
  lastSeenAt: Nullable(Instant),
  lastError: Nullable(Type.String()),
});
const Hosts = Type.Array(Host);

const CleanupPage = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.String({ pattern: "^[1-9][0-9]*$" }),
      hostId: Id,
      hostName: Type.String(),
      containerId: Nullable(Type.String({ description: "the container removed; null when an image was" })),
      workspaceId: Nullable(Id),
      imageId: Nullable(Id),
      reason: Type.String(),
      action: oneOf(["removed", "would_remove", "failed"]),
      detail: Nullable(Type.String()),
      createdAt: Instant,
    }),
  ),
  cursor: Cursor,
});

const JobLog = Type.Object({
  jobId: Id,
  lines: Type.Array(
    Type.Object({
      id: Type.String({ pattern: "^[1-9][0-9]*$", description: "the line's id, increasing" }),
      step: Type.String({ description: "the step that wrote it" }),
      line: Type.String(),
      at: Instant,
    }),
  ),
  next: Nullable(
    Type.String({
      pattern: "^[1-9][0-9]*$",
      description: "pass as ?after= for the next page; null when no more lines are written yet",
    }),
  ),
});

/** migrations/0011_images.sql: BUILDING until its build job ends, REMOVED once gone from every host. */
const ImageStatus = oneOf(["BUILDING", "READY", "FAILED", "REMOVED"]);

const Image = Type.Object({
  id: Id,
  repository: Type.String(),
  commitSha: Type.String(),
  ref: Nullable(Type.String({ description: "the branch or tag the build request named" })),
  tag: Type.String({ description: "what a workspace names as its image" }),
  status: ImageStatus,
  digest: Nullable(Type.String({ description: "the image id Docker computed (sha256:…)" })),
  sizeBytes: Nullable(Count),
  hosts: Type.Array(
    Type.Object(
      { id: Id, name: Type.String(), how: oneOf(["built", "transferred"]) },
      { description: "a host that holds it" },
    ),
  ),
  jobId: Id,
  scheduleId: Nullable(Id),
  createdAt: Instant,
  builtAt: Nullable(Instant),
});
const ImagePage = Type.Object({ items: Type.Array(Image), cursor: Cursor });

const Schedules = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Id,
      repository: Type.String(),
      ref: Type.String(),
      cron: Type.String(),
      timezone: Type.String(),
      lastTickAt: Instant,
      lastOutcome: Nullable(Type.String()),
      createdAt: Instant,
      recentTicks: Type.Array(Type.Object({ tickAt: Instant, imageId: Nullable(Id), outcome: Type.String() }), {
        description: "the latest ticks (at most 5), newest first",
      }),
    }),
  ),
});

const Health = Type.Object({ status: Type.Literal("ok") });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal("ready"), Type.Literal("not_ready")]),
  checks: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.Unknown()) })),
});

/** The schemas a document names in `components.schemas` (answers reference them by name). */
export const ApiSchemas = {
  Problem,
  AcceptedUser,
  AcceptedWorkspace,
  AcceptedJob,
  AcceptedHost,
  AcceptedToken,
  AcceptedBuild,
  AcceptedSchedule,
  OperationView,
  User,
  Me,
  Workspace,
  WorkspacePage,
  Job,
  JobLog,
  JobSearchAnswer,
  Image,
  ImagePage,
  Schedules,
  Host,
  Hosts,
  CleanupPage,
  Health,
  Readiness,
} satisfies Record<string, TSchema>;

export type ApiSchemaName = keyof typeof ApiSchemas;
