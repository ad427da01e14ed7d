import { expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { CommonEnv, ConfigError, parseEnv } from "./config.ts";

const Schema = Type.Object({
  ...CommonEnv,
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3000 }),
  SECRET: Type.String({ minLength: 4 }),
});

const ADMIN = "an-admin-token-of-24-chars";

test("converts strings, applies defaults", () => {
  const env = parseEnv(Schema, { PORT: "8080", SECRET: "abcd", A4C_ADMIN_TOKEN: ADMIN });
  expect(env.PORT).toBe(8080);
  expect(env.A4C_RETENTION_HOURS).toBe(24);
  expect(env.NATS_URL).toBe("nats://127.0.0.1:54222");
});

test("reports every problem at once, by variable name", () => {
  try {
    parseEnv(Schema, { PORT: "eighty", DATABASE_URL: "mysql://x", A4C_LOG_LEVEL: "loud" });
    throw new Error("should have failed");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    for (const name of ["PORT", "SECRET", "DATABASE_URL", "A4C_LOG_LEVEL"]) expect(message).toContain(name);
  }
});

test("an empty variable counts as unset", () => {
  expect(parseEnv(Schema, { PORT: "", SECRET: "abcd", A4C_ADMIN_TOKEN: ADMIN }).PORT).toBe(3000);
});
