/** Glue between commander and the commands: each action gets a Context and returns its exit code. */
import type { Command } from "commander";
import { Context, type GlobalOptions } from "../context.ts";
import { EXIT, UsageError } from "../errors.ts";

/** Returns the exit code, or nothing for 0. */
type Handler<A extends unknown[]> = (ctx: Context, ...args: A) => Promise<unknown>;

/** Wraps a handler for `.action()`: commander passes the arguments, the options, then the command. */
export function action<A extends unknown[]>(handler: Handler<A>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const ctx = new Context(Boolean((command.optsWithGlobals() as GlobalOptions).json));
    const code = await handler(ctx, ...(args.slice(0, -1) as A));
    if (typeof code === "number" && code !== EXIT.ok) process.exitCode = code;
  };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`Not a positive whole number: ${value}`);
  return n;
}

/** The option every write has: the Idempotency-Key to send (a new one per invocation otherwise). */
export const KEY_OPTION = [
  "--idempotency-key <key>",
  "send this Idempotency-Key (repeat an earlier invocation without doing it twice)",
] as const;

export const WAIT_OPTION = ["--wait", "follow the operation and its job until they end"] as const;
