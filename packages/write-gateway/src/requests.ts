import { problems } from "@a4c/shared";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";

/** Request bodies. Unknown fields are refused so typos do not pass silently. */
export const CreateUserBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    email: Type.String({ maxLength: 254, pattern: "^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$" }),
  },
  { additionalProperties: false },
);
export type CreateUserBody = Static<typeof CreateUserBody>;

export const CreateWorkspaceBody = Type.Object(
  {
    projectName: Type.String({ minLength: 1, maxLength: 63, pattern: "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" }),
    image: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: "^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$" })),
  },
  { additionalProperties: false },
);
export type CreateWorkspaceBody = Static<typeof CreateWorkspaceBody>;

export const UuidParam = Type.String({ pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" });

/** Compiles a schema into a function that returns the typed value or throws a 400 problem. */
export function validator<S extends TSchema>(schema: S, what: string) {
  const checker = TypeCompiler.Compile(schema);
  return (value: unknown): Static<S> => {
    if (checker.Check(value)) return value;
    const first = checker.Errors(value).First();
    const where = first?.path ? ` at ${first.path}` : "";
    throw problems.badRequest(`invalid ${what}${where}: ${first?.message ?? "does not match the schema"}`);
  };
}

export const validateCreateUser = validator(CreateUserBody, "body");
export const validateCreateWorkspace = validator(CreateWorkspaceBody, "body");
export const validateUuid = validator(UuidParam, "id");
