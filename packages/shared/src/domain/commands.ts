import { createHmac } from "node:crypto";
import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { sha256Hex } from "./canonical.ts";
import type { Entity } from "./operation-id.ts";

const Uuid = Type.String({ format: "uuid", pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" });

export const UserCreate = Type.Object({
  type: Type.Literal("user.create"),
  userId: Uuid,
  name: Type.String(),
  email: Type.String(),
  tokenHash: Type.String({ pattern: "^[0-9a-f]{64}$" }),
});
export const WorkspaceCreate = Type.Object({
  type: Type.Literal("workspace.create"),
  userId: Uuid,
  workspaceId: Uuid,
  jobId: Uuid,
  projectName: Type.String(),
  image: Type.String(),
});
export const WorkspaceDelete = Type.Object({
  type: Type.Literal("workspace.delete"),
  userId: Uuid,
  workspaceId: Uuid,
  jobId: Uuid,
});
/** Cancels a workspace job; `userId` is the acting user (null: the admin, who may cancel any). */
export const JobCancel = Type.Object({
  type: Type.Literal("job.cancel"),
  jobId: Uuid,
  userId: Type.Union([Uuid, Type.Null()]),
});
export const HostRegister = Type.Object({
  type: Type.Literal("host.register"),
  hostId: Uuid,
  name: Type.String(),
  sshHost: Type.String(),
  sshPort: Type.Integer(),
  sshUser: Type.String(),
  hostKey: Type.String(),
  diskLimitBytes: Type.Union([Type.Integer(), Type.Null()]),
});
/** Drain (no new placements) or activate a host. */
export const HostSetState = Type.Object({
  type: Type.Literal("host.set_state"),
  hostId: Uuid,
  state: Type.Union([Type.Literal("draining"), Type.Literal("active")]),
});
/** A CI token (the token itself is derived from the operation id, like a user's). */
export const TokenCreate = Type.Object({
  type: Type.Literal("token.create"),
  tokenId: Uuid,
  kind: Type.Literal("ci"),
  name: Type.String(),
  tokenHash: Type.String({ pattern: "^[0-9a-f]{64}$" }),
});
/** A build of one commit; its ids derive from repository + commit (domain/images.ts). */
export const ImageBuild = Type.Object({
  type: Type.Literal("image.build"),
  imageId: Uuid,
  jobId: Uuid,
  repository: Type.String(),
  commitSha: Type.String(),
  ref: Type.Union([Type.String(), Type.Null()]),
  dockerfile: Type.String(),
  files: Type.Record(Type.String(), Type.String()),
});
export const ScheduleCreate = Type.Object({
  type: Type.Literal("schedule.create"),
  scheduleId: Uuid,
  repository: Type.String(),
  ref: Type.String(),
  cron: Type.String(),
  timezone: Type.String(),
});
export const ScheduleDelete = Type.Object({
  type: Type.Literal("schedule.delete"),
  scheduleId: Uuid,
});
export const Command = Type.Union([
  UserCreate,
  TokenCreate,
  ImageBuild,
  ScheduleCreate,
  ScheduleDelete,
  WorkspaceCreate,
  WorkspaceDelete,
  JobCancel,
  HostRegister,
  HostSetState,
]);
export type Command = Static<typeof Command>;
export type CommandType = Command["type"];

/** What the gateway stores in JetStream and the processor applies. */
export const Envelope = Type.Object({
  v: Type.Literal(1),
  operationId: Type.String(),
  actor: Type.String(),
  idempotencyKey: Type.String(),
  fingerprint: Type.String(),
  acceptedAt: Type.String(),
  command: Command,
});
export type Envelope = Static<typeof Envelope>;

const envelopeChecker = TypeCompiler.Compile(Envelope);

/** Parses a stored message; `null` for anything that is not a well-formed envelope. */
export function decodeEnvelope(data: Uint8Array): Envelope | null {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return null;
  }
  return envelopeChecker.Check(value) ? value : null;
}

export function entityOf(command: Command): { entity: Entity; table: string; id: string } {
  switch (command.type) {
    case "user.create":
      return { entity: "users", table: "users", id: command.userId };
    case "workspace.create":
    case "workspace.delete":
      return { entity: "workspaces", table: "workspace", id: command.workspaceId };
    case "job.cancel":
      return { entity: "workspaces", table: "job", id: command.jobId };
    case "host.register":
    case "host.set_state":
      return { entity: "hosts", table: "hosts", id: command.hostId };
    case "token.create":
      return { entity: "users", table: "api_token", id: command.tokenId };
    case "image.build":
      return { entity: "images", table: "image", id: command.imageId };
    case "schedule.create":
    case "schedule.delete":
      return { entity: "images", table: "schedule", id: command.scheduleId };
  }
}

/**
 * A new user's API token is derived from a server secret and the operation id, so a replayed
 * request returns the same token without the token ever being stored: only its hash is.
 */
export function userToken(secret: string, operationId: string): string {
  return `a4c_${createHmac("sha256", secret).update(`user-token\n${operationId}`).digest("base64url")}`;
}

/** A CI token, derived like a user's token but under its own label. */
export function ciToken(secret: string, operationId: string): string {
  return `a4c_ci_${createHmac("sha256", secret).update(`ci-token\n${operationId}`).digest("base64url")}`;
}

export function tokenHash(token: string): string {
  return sha256Hex(token);
}

/** The body of the 202 answer; identical for the first answer and every replay. */
export function acceptedBody(envelope: Envelope, tokenSecret: string): Record<string, string> {
  const base = { operationId: envelope.operationId, status: "pending" };
  const c = envelope.command;
  switch (c.type) {
    case "user.create":
      return { ...base, userId: c.userId, token: userToken(tokenSecret, envelope.operationId) };
    case "workspace.create":
      return { ...base, workspaceId: c.workspaceId, jobId: c.jobId };
    case "workspace.delete":
      return { ...base, workspaceId: c.workspaceId, jobId: c.jobId };
    case "job.cancel":
      return { ...base, jobId: c.jobId };
    case "host.register":
    case "host.set_state":
      return { ...base, hostId: c.hostId };
    case "token.create":
      return { ...base, tokenId: c.tokenId, token: ciToken(tokenSecret, envelope.operationId) };
    case "image.build":
      return { ...base, imageId: c.imageId, jobId: c.jobId };
    case "schedule.create":
    case "schedule.delete":
      return { ...base, scheduleId: c.scheduleId };
  }
}
