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
export const Command = Type.Union([UserCreate, WorkspaceCreate, WorkspaceDelete]);
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
  }
}

/**
 * A new user's API token is derived from a server secret and the operation id, so a replayed
 * request returns the same token without the token ever being stored: only its hash is.
 */
export function userToken(secret: string, operationId: string): string {
  return `a4c_${createHmac("sha256", secret).update(`user-token\n${operationId}`).digest("base64url")}`;
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
  }
}
