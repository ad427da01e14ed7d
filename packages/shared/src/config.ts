import { type Static, type TObject, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

/** Thrown at start-up when the environment does not describe a runnable service. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses `env` against a TypeBox schema whose keys are environment variable names.
 * Strings are converted to the declared types, defaults applied, and every problem is
 * reported at once so a bad deployment fails fast with a message that says why.
 */
export function parseEnv<S extends TObject>(schema: S, env: Record<string, string | undefined>): Static<S> {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const raw = env[key];
    if (raw !== undefined && raw !== "") input[key] = raw;
  }
  const withDefaults = Value.Default(schema, input);
  const converted = Value.Convert(schema, withDefaults);
  const errors = [...Value.Errors(schema, converted)].map((e) => {
    const name = e.path.replace(/^\//, "") || "(root)";
    return `${name}: ${e.message} (got ${JSON.stringify(env[name] ?? null)})`;
  });
  if (errors.length > 0) throw new ConfigError(errors);
  return converted as Static<S>;
}

/** Fields every service shares. */
export const CommonEnv = {
  A4C_LOG_LEVEL: Type.Union(
    ["trace", "debug", "info", "warn", "error", "fatal", "silent"].map((l) => Type.Literal(l)),
    { default: "info" },
  ),
  DATABASE_URL: Type.String({ pattern: "^postgres(ql)?://", default: "postgres://a4c@127.0.0.1:55432/a4c" }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  NATS_URL: Type.String({ minLength: 1, default: "nats://127.0.0.1:54222" }),
  /** Prefix for stream, consumer and subject names, so test runs can share one NATS server. */
  A4C_NAMESPACE: Type.String({ pattern: "^[a-z0-9_]*$", default: "" }),
  /** How long idempotency keys, queued messages and operation statuses are kept. */
  A4C_RETENTION_HOURS: Type.Number({ exclusiveMinimum: 0, default: 24 }),
  A4C_SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  /** The operators' token: admin API calls, operator endpoints, /metrics. */
  A4C_ADMIN_TOKEN: Type.String({ minLength: 16 }),
  /** A scraper's token that opens /metrics and nothing else. */
  A4C_METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
};
