/** `a4c users create`: a new user and the token it signs in with (the admin's command). */
import type { Command } from "commander";
import type { AcceptedUser } from "../api.ts";
import type { Context } from "../context.ts";
import { EXIT } from "../errors.ts";
import { fields } from "../render.ts";
import { newIdempotencyKey } from "../retry.ts";
import { action, KEY_OPTION } from "./common.ts";
import { postAndWait } from "./operation.ts";

async function create(ctx: Context, name: string, email: string, o: { idempotencyKey?: string }) {
  const key = o.idempotencyKey ?? newIdempotencyKey();
  // The token works once the user exists: always wait for that (it takes milliseconds).
  const { accepted: a, done } = await postAndWait<AcceptedUser>(ctx, "/v1/users", key, { name, email });
  if (done !== null) return done;
  ctx.print(
    fields(ctx.c, [
      ["user", a.userId],
      ["token", a.token],
    ]),
  );
  ctx.notice("Keep the token: it is the user's password and is shown only here (and to a retry with the same key).");
  ctx.notice(`Sign in as this user: a4c login --url ${ctx.settings.url}   (it asks for the token)`);
  return EXIT.ok;
}

export function registerUsers(program: Command): void {
  const users = program.command("users").description("create users (admin)");
  users
    .command("create <name> <email>")
    .description("create a user and print the token it signs in with")
    .option(...KEY_OPTION)
    .addHelpText(
      "after",
      `
Exit code 1 when the operation fails (e.g. email_taken).

Example:
  a4c users create "Ada Lovelace" ada@example.com`,
    )
    .action(action(create));
}
