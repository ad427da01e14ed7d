/**
 * What every command is given: the settings (config.ts), one API client built from them, where
 * and how to print (colours on a terminal only, JSON with --json), and who the token is.
 */
import type { Me } from "./api.ts";
import { ApiClient } from "./client.ts";
import { resolveSettings, type Settings } from "./config.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import { type Progress, plainProgress, silentProgress, ttyProgress } from "./progress.ts";
import { type Colors, colorsFor } from "./render.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.ts";

export interface GlobalOptions {
  json?: boolean;
}

function seconds(raw: string | undefined, fallback: number): number {
  const n = raw === undefined || raw === "" ? Number.NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n * 1000 : fallback;
}

export class Context {
  readonly c: Colors;
  readonly tty: boolean;
  readonly debug: boolean;
  #settings: Settings | null = null;
  #client: ApiClient | null = null;
  #me: Me | null = null;

  constructor(
    readonly json: boolean,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    // The spinner's own test: a dumb terminal or a CI log gets plain lines, even on a pseudo-terminal.
    this.tty = Boolean(process.stdout.isTTY) && env.TERM !== "dumb" && !("CI" in env);
    this.c = colorsFor(process.stdout, env);
    this.debug = Boolean(env.A4C_DEBUG) && env.A4C_DEBUG !== "0";
  }

  get settings(): Settings {
    this.#settings ??= resolveSettings(this.env);
    return this.#settings;
  }

  get retry(): RetryPolicy {
    return {
      budgetMs: seconds(this.env.A4C_RETRY_SECONDS, DEFAULT_RETRY.budgetMs),
      connectBudgetMs: Math.min(
        seconds(this.env.A4C_RETRY_SECONDS, DEFAULT_RETRY.budgetMs),
        DEFAULT_RETRY.connectBudgetMs,
      ),
    };
  }

  /** A client for `url` with `token` (login checks a token before storing it). */
  clientFor(url: string, token: string): ApiClient {
    return new ApiClient({
      url,
      token,
      retry: this.retry,
      timeoutMs: seconds(this.env.A4C_TIMEOUT_SECONDS, 30_000),
      debug: this.debug ? (line) => process.stderr.write(`[a4c] ${line}\n`) : undefined,
      notice: (line) => this.notice(line),
    });
  }

  get client(): ApiClient {
    if (this.#client) return this.#client;
    const { url, token } = this.settings;
    if (!token) {
      throw new CliError("Not logged in", EXIT.unreachable, "run `a4c login` (or set A4C_TOKEN and A4C_URL)");
    }
    this.#client = this.clientFor(url, token);
    return this.#client;
  }

  async me(): Promise<Me> {
    this.#me ??= await this.client.get<Me>("/v1/me");
    return this.#me;
  }

  /** The user a workspace command acts for: the token's own, or `--user` (which the admin must give). */
  async userId(explicit: string | undefined): Promise<string> {
    if (explicit) return explicit;
    const me = await this.me();
    if (me.kind === "user") return me.user.id;
    throw new UsageError("The admin acts for a user", "pass --user <userId>");
  }

  print(text = ""): void {
    process.stdout.write(`${text}\n`);
  }

  printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Something the user should know that is not the command's output: to stderr. */
  notice(text: string): void {
    if (!this.json) process.stderr.write(`${colorsFor(process.stderr, this.env).dim(text)}\n`);
  }

  progress(): Progress {
    if (this.json) return silentProgress();
    if (this.tty) return ttyProgress(process.stdout, this.c);
    return plainProgress((line) => this.print(line), this.c);
  }
}
