/** `a4c tokens create`: a CI token, which may request image builds and follow them (the admin's command). */
import type { Command } from "commander";
import type { AcceptedToken } from "../api.ts";
import type { Context } from "../context.ts";
import { EXIT } from "../errors.ts";
import { fields } from "../render.ts";
import { newIdempotencyKey } from "../retry.ts";
import { action, KEY_OPTION } from "./common.ts";
import { postAndWait } from "./operation.ts";

async function create(ctx: Context, o: { name: string; idempotencyKey?: string }) {
  const key = o.idempotencyKey ?? newIdempotencyKey();
  // The token works once the operation is applied: always wait for that (it takes milliseconds).
  const { accepted: a, done } = await postAndWait<AcceptedToken>(ctx, "/v1/tokens", key, { kind: "ci", name: o.name });
  if (done !== null) return done;
  ctx.print(
    fields(ctx.c, [
      ["token id", a.tokenId],
      ["name", o.name],
      ["token", a.token],
    ]),
  );
  ctx.notice("Keep the token: it is shown only here (and to a retry with the same key). Store it as a CI secret.");
  ctx.notice(`In CI: A4C_URL=${ctx.settings.url} A4C_TOKEN=<token> a4c images build <repository> <sha> --dockerfile …`);
  return EXIT.ok;
}

export function registerTokens(program: Command): void {
  const tokens = program.command("tokens").description("create CI tokens (admin)");
  tokens
    .command("create")
    .description("create a CI token: it may request image builds and follow them, nothing else")
    .requiredOption("--name <name>", "what the token is for (1-200 characters), e.g. the CI system's name")
    .option(...KEY_OPTION)
    .addHelpText(
      "after",
      `
The token is printed once; the API keeps only its hash.

Example:
  a4c tokens create --name github-actions`,
    )
    .action(action(create));
}
