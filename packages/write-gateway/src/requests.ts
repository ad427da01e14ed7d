import {
  COMMIT_SHA_PATTERN,
  CONTEXT_PATH_PATTERN,
  contextBytes,
  dockerfileProblem,
  MAX_CONTEXT_FILES,
  problems,
  REF_PATTERN,
  REPOSITORY_PATTERN,
} from "@a4c/shared";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { TypeCompiler, type ValueError, ValueErrorType } from "@sinclair/typebox/compiler";
import { Cron } from "croner";

/**
 * Request bodies. Unknown fields are refused so typos do not pass silently. Each field's
 * `description` is the rule a client is told when it breaks it: no library's wording reaches a
 * client. (Control characters and lone surrogates never get this far: `readJsonBody` refuses them.)
 */
export const CreateUserBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, description: "must be a string of 1 to 200 characters" }),
    email: Type.String({
      maxLength: 254,
      pattern: "^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$",
      description: "must be an e-mail address of at most 254 characters",
    }),
  },
  { additionalProperties: false },
);
export type CreateUserBody = Static<typeof CreateUserBody>;

export const CreateWorkspaceBody = Type.Object(
  {
    projectName: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
      description: "must be 1 to 63 lowercase letters, digits and inner hyphens",
    }),
    image: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        pattern: "^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$",
        description: "must be an image reference of 1 to 255 characters (letters, digits and . _ / : @ -)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateWorkspaceBody = Static<typeof CreateWorkspaceBody>;

export const RegisterHostBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
      description: "must be 1 to 63 lowercase letters, digits and inner hyphens",
    }),
    sshAddress: Type.String({
      maxLength: 260,
      pattern: "^[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$",
      description: "must be host:port (a host name or IPv4 address, and the sshd port)",
    }),
    sshUser: Type.Optional(
      Type.String({ pattern: "^[a-z_][a-z0-9_-]{0,31}$", description: "must be a Unix user name" }),
    ),
    hostKeySha256: Type.Optional(
      Type.String({
        pattern: "^SHA256:[A-Za-z0-9+/]{43}$",
        description: "must be the host key's fingerprint as ssh-keygen -l prints it (SHA256:…)",
      }),
    ),
    hostKey: Type.Optional(
      Type.String({
        maxLength: 2000,
        pattern: "^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}( [ -~]{0,200})?$",
        description: "must be the host's OpenSSH public key line (type, base64 key, optional comment)",
      }),
    ),
    diskLimitBytes: Type.Optional(
      Type.Integer({ minimum: 1048576, maximum: 2 ** 53 - 1, description: "must be a byte count of at least 1 MiB" }),
    ),
  },
  { additionalProperties: false },
);
export type RegisterHostBody = Static<typeof RegisterHostBody>;

const validateRegisterHostShape = validator(RegisterHostBody, "body");
/** The body, with exactly one of the two ways to pin the host key. */
export function validateRegisterHost(raw: unknown): RegisterHostBody & { pin: string; host: string; port: number } {
  const b = validateRegisterHostShape(raw);
  const pin = b.hostKeySha256 ?? b.hostKey;
  if (!pin || (b.hostKeySha256 && b.hostKey)) {
    throw problems.badRequest("give the host key to pin: exactly one of hostKeySha256 and hostKey");
  }
  const [host = "", portText = ""] = b.sshAddress.split(":");
  const port = Number(portText);
  if (!(port >= 1 && port <= 65535))
    throw problems.badRequest("body field /sshAddress must name a port from 1 to 65535");
  return { ...b, pin, host, port };
}

export const CreateTokenBody = Type.Object(
  {
    kind: Type.Literal("ci", { description: 'must be "ci" (the only kind of token made here)' }),
    name: Type.String({ minLength: 1, maxLength: 200, description: "must be a string of 1 to 200 characters" }),
  },
  { additionalProperties: false },
);
export type CreateTokenBody = Static<typeof CreateTokenBody>;
export const validateCreateToken = validator(CreateTokenBody, "body");

const Repository = Type.String({
  maxLength: 120,
  pattern: REPOSITORY_PATTERN,
  description:
    "must be a repository name: lowercase letters and digits, with . _ - inside and up to 4 /-separated parts",
});
const Ref = Type.String({
  pattern: REF_PATTERN,
  description: "must be a branch or tag name (letters, digits, . _ / -)",
});

export const BuildImageBody = Type.Object(
  {
    repository: Repository,
    commitSha: Type.String({
      pattern: COMMIT_SHA_PATTERN,
      description: "must be a full commit SHA: 40 (or 64) lowercase hex digits",
    }),
    ref: Type.Optional(Ref),
    dockerfile: Type.String({
      minLength: 1,
      maxLength: 65_536,
      description: "must be the Dockerfile's text (1 to 65,536 characters)",
    }),
    files: Type.Optional(
      Type.Record(Type.String({ pattern: CONTEXT_PATH_PATTERN }), Type.String(), {
        maxProperties: MAX_CONTEXT_FILES,
        description: `must map at most ${MAX_CONTEXT_FILES} relative paths (no "..") to the files' text`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type BuildImageBody = Static<typeof BuildImageBody>;
const validateBuildImageShape = validator(BuildImageBody, "body");

/** A build request; its context (Dockerfile and files) at most `maxContextBytes`. */
export function validateBuildImage(raw: unknown, maxContextBytes: number): BuildImageBody {
  const b = validateBuildImageShape(raw);
  const files = b.files ?? {};
  for (const path of Object.keys(files)) {
    if (!new RegExp(CONTEXT_PATH_PATTERN).test(path)) {
      throw problems.badRequest(
        `body field /files has a path that is not relative or leaves the context: ${path.slice(0, 100)}`,
      );
    }
    if (path === "Dockerfile")
      throw problems.badRequest("body field /files must not hold the Dockerfile; send it as dockerfile");
  }
  const problem = dockerfileProblem(b.dockerfile);
  if (problem) throw problems.badRequest(`body field /dockerfile ${problem}`);
  const bytes = contextBytes(b.dockerfile, files);
  if (bytes > maxContextBytes) {
    throw problems.badRequest(`the build context is ${bytes} bytes; at most ${maxContextBytes} are accepted`);
  }
  return b;
}

export const CreateScheduleBody = Type.Object(
  {
    repository: Repository,
    ref: Ref,
    cron: Type.String({
      minLength: 1,
      maxLength: 100,
      description: "must be a cron expression (5 fields, or 6 with seconds first)",
    }),
    timezone: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "must be an IANA time zone such as Europe/Paris" }),
    ),
  },
  { additionalProperties: false },
);
export type CreateScheduleBody = Static<typeof CreateScheduleBody>;
const validateCreateScheduleShape = validator(CreateScheduleBody, "body");

/**
 * A schedule: its cron parsed by croner in its time zone, and its ticks at least `minIntervalS`
 * apart (a schedule is for periodic rebuilds, not a build loop).
 */
export function validateCreateSchedule(raw: unknown, minIntervalS: number): CreateScheduleBody & { timezone: string } {
  const b = validateCreateScheduleShape(raw);
  const timezone = b.timezone ?? "UTC";
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
  } catch {
    throw problems.badRequest(`body field /timezone is not a known time zone: ${timezone}`);
  }
  let ticks: Date[];
  try {
    ticks = new Cron(b.cron, { timezone, paused: true }).nextRuns(3);
  } catch (err) {
    throw problems.badRequest(`body field /cron is not a cron expression: ${(err as Error).message}`);
  }
  if (ticks.length === 0) throw problems.badRequest("body field /cron never fires");
  for (let i = 1; i < ticks.length; i++) {
    const gap = ((ticks[i] as Date).getTime() - (ticks[i - 1] as Date).getTime()) / 1000;
    if (gap < minIntervalS) {
      throw problems.badRequest(
        `body field /cron fires every ${gap} s; schedules may fire at most every ${minIntervalS} s`,
      );
    }
  }
  return { ...b, timezone };
}

export const UuidParam = Type.String({
  pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
  description: "must be a lowercase UUID",
});

/** The client's view of the first rule a value breaks, in our words. */
export function describeError(e: ValueError, what: string): string {
  const at = e.path ? `${what} field ${e.path.slice(0, 100)}` : what;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `${at} is required`;
    case ValueErrorType.ObjectAdditionalProperties:
      return `${at} is not allowed here`;
    case ValueErrorType.Object:
      return `${at} must be a JSON object`;
    default: {
      const rule = (e.schema as { description?: string }).description;
      return `${at} ${rule ?? "has the wrong type"}`;
    }
  }
}

/** Compiles a schema into a function that returns the typed value or throws a 400 problem. */
export function validator<S extends TSchema>(schema: S, what: string) {
  const checker = TypeCompiler.Compile(schema);
  return (value: unknown): Static<S> => {
    if (checker.Check(value)) return value;
    const first = checker.Errors(value).First();
    throw problems.badRequest(first ? describeError(first, what) : `${what} is invalid`);
  };
}

export const validateCreateUser = validator(CreateUserBody, "body");
export const validateCreateWorkspace = validator(CreateWorkspaceBody, "body");
const uuidChecker = TypeCompiler.Compile(UuidParam);
/** A path parameter that must be a UUID; `name` is the parameter's name in the route. */
export function validateUuid(value: string, name: string): string {
  if (!uuidChecker.Check(value)) throw problems.badRequest(`${name} ${UuidParam.description}`);
  return value;
}
