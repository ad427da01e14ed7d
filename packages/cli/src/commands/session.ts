/** `a4c login`, `a4c logout`, `a4c whoami`: which front door, with which token. */
import type { Command } from "commander";
import type { Me } from "../api.ts";
import { checkToken, configPath, DEFAULT_URL, normalizeUrl, readConfig, writeConfig } from "../config.ts";
import type { Context } from "../context.ts";
import { EXIT, InterruptedError, UsageError } from "../errors.ts";
import { fields } from "../render.ts";
import { action } from "./common.ts";

/** Reads a token without echoing it (a terminal), or the first line of stdin (a pipe). */
async function readToken(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const text = await new Response(Bun.stdin.stream()).text();
    return text.split("\n")[0]?.trim() ?? "";
  }
  process.stderr.write("Token: ");
  stdin.setRawMode(true);
  stdin.resume();
  let token = "";
  try {
    for await (const chunk of stdin) {
      for (const ch of String(chunk)) {
        if (ch === "\u0003") throw new InterruptedError("nothing was saved");
        if (ch === "\r" || ch === "\n") return token.trim();
        if (ch === "\u007f" || ch === "\b") token = token.slice(0, -1);
        else token += ch;
      }
    }
    return token.trim();
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write("\n");
  }
}

function describeMe(me: Me): string {
  return me.kind === "admin" ? "the admin" : `${me.user.name} <${me.user.email}> (user ${me.user.id})`;
}

async function login(ctx: Context, o: { url?: string; token?: string }) {
  const stored = readConfig();
  const url = normalizeUrl(o.url ?? ctx.env.A4C_URL ?? stored.url ?? DEFAULT_URL);
  const given = o.token ?? ctx.env.A4C_TOKEN ?? (await readToken());
  if (!given) throw new UsageError("No token given", "pass --token <token>, or type it when asked");
  const token = checkToken(given, o.token !== undefined ? "--token" : "the token given");
  // Checked before it is stored: a wrong token fails here (exit 3), not at the next command.
  const me = await ctx.clientFor(url, token).get<Me>("/v1/me");
  const path = configPath();
  writeConfig({ url, token }, path);
  if (ctx.json) ctx.printJson({ url, me, config: path });
  else {
    ctx.print(`${ctx.c.green("✔")} Logged in to ${url} as ${describeMe(me)}`);
    ctx.print(ctx.c.dim(`Saved to ${path} (readable by you only)`));
  }
  return EXIT.ok;
}

export function registerSession(program: Command): void {
  program
    .command("login")
    .description("check a token against the server and store both (mode 0600) for later commands")
    .option("--url <url>", `the front door (default: $A4C_URL, the stored URL, or ${DEFAULT_URL})`)
    .option("--token <token>", "the API token (default: $A4C_TOKEN, or asked for without echo)")
    .addHelpText(
      "after",
      `
The token is stored in ${configPath()}.
A4C_URL and A4C_TOKEN, when set, override it for any command.

Examples:
  a4c login --url http://127.0.0.1:3004      (asks for the token)
  a4c login < .local/admin-token             (from a file: not in the process list)
  echo "$TOKEN" | a4c login

--token puts the token in the command line, where other local users can see it (ps): prefer
the prompt, a pipe or A4C_TOKEN.`,
    )
    .action(action(login));

  program
    .command("logout")
    .description("forget the stored token (the URL is kept)")
    .action(
      action(async (ctx) => {
        const { url } = readConfig();
        writeConfig(url ? { url } : {});
        if (ctx.json) ctx.printJson({ loggedOut: true });
        else ctx.print("Logged out.");
        return EXIT.ok;
      }),
    );

  program
    .command("whoami")
    .description("who the current token is, and where it came from")
    .action(
      action(async (ctx) => {
        const me = await ctx.me();
        const s = ctx.settings;
        if (ctx.json) return ctx.printJson({ url: s.url, tokenSource: s.tokenSource, me });
        ctx.print(
          fields(ctx.c, [
            ["url", s.url],
            ["you are", describeMe(me)],
            ["token from", s.tokenSource === "config" ? configPath() : s.tokenSource],
          ]),
        );
        return EXIT.ok;
      }),
    );
}
