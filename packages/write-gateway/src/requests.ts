import { problems } from "@a4c/shared";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { TypeCompiler, type ValueError, ValueErrorType } from "@sinclair/typebox/compiler";

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
