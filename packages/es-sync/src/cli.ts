/**
 * Operator commands, against the same configuration as the service (environment variables):
 *   bun packages/es-sync/src/cli.ts dlq list
 *   bun packages/es-sync/src/cli.ts dlq replay
 *   bun packages/es-sync/src/cli.ts reconcile [--since=<ISO instant>]   (everything without --since)
 *   bun packages/es-sync/src/cli.ts reindex
 * The same actions are on the running service's ops port: GET /dlq, POST /dlq/replay, POST /reconcile,
 * POST /reindex (runs in the background) and GET /reindex (its progress and result).
 */
import { loadEnv } from "./env.ts";
import { reindex } from "./reindex.ts";
import { wire } from "./wiring.ts";

const USAGE = "usage: cli.ts dlq list | dlq replay | reconcile [--since=<ISO>] | reindex";

async function main(args: string[]): Promise<number> {
  const [command, sub] = args;
  const known =
    (command === "dlq" && (sub === "list" || sub === "replay")) || command === "reconcile" || command === "reindex";
  if (!known) {
    console.error(USAGE);
    return 2;
  }
  const env = loadEnv({ A4C_LOG_LEVEL: "warn", ...process.env });
  const w = await wire(env, "es-sync-cli");
  try {
    let out: unknown;
    if (command === "dlq") out = sub === "list" ? await w.dlq.list() : await w.dlq.replay();
    else if (command === "reconcile") {
      const since = args.find((a) => a.startsWith("--since="))?.slice("--since=".length);
      const from = since ? new Date(since) : undefined;
      if (from && Number.isNaN(from.getTime())) throw new Error(`--since is not an instant: ${since}`);
      out = await w.reconciler.reconcile({ from });
    } else {
      // Progress on stderr (the result stays the only thing on stdout), at most once a second.
      let shown = 0;
      out = await reindex({
        ...w,
        topic: env.ES_SYNC_TOPIC,
        groupId: env.ES_SYNC_GROUP,
        alias: env.ES_SYNC_ALIAS,
        log: w.log,
        onProgress: (p) => {
          if (Date.now() - shown < 1_000 && p.phase === "load") return;
          shown = Date.now();
          const pct = p.total > 0 ? Math.min(100, Math.round((100 * p.loaded) / p.total)) : 100;
          console.error(`reindex ${p.index}: ${p.phase} ${p.loaded}/${p.total} (${pct} %), caught up ${p.caughtUp}`);
        },
      });
    }
    console.log(JSON.stringify(out, null, 2));
    return 0;
  } finally {
    await w.close();
  }
}

process.exit(await main(process.argv.slice(2)));
