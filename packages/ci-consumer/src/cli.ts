/**
 * Operator commands, with the service's configuration (environment variables, at least
 * A4C_ADMIN_TOKEN):
 *   bun packages/ci-consumer/src/cli.ts dlq list
 *   bun packages/ci-consumer/src/cli.ts dlq replay
 * The same on the running service's ops port: GET /dlq, POST /dlq/replay (admin token).
 */
import { loadEnv } from "./env.ts";
import { wire } from "./wiring.ts";

const USAGE = "usage: cli.ts dlq list | dlq replay";

async function main(args: string[]): Promise<number> {
  const [command, sub] = args;
  if (command !== "dlq" || (sub !== "list" && sub !== "replay")) {
    console.error(USAGE);
    return 2;
  }
  const env = loadEnv({ A4C_LOG_LEVEL: "warn", ...process.env });
  const w = await wire(env, "ci-consumer-cli");
  try {
    const out = sub === "list" ? await w.dlq.list() : await w.dlq.replay();
    console.log(JSON.stringify(out, null, 2));
    return 0;
  } finally {
    await w.close();
  }
}

process.exit(await main(process.argv.slice(2)));
