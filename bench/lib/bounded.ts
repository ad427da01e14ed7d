/**
 * Every benchmark is bounded in time and leaves nothing behind: `main` runs under a time limit and
 * `cleanup` runs exactly once afterwards, whether main finished, threw, hit the limit or was
 * interrupted (Ctrl-C / SIGTERM).
 */
import { say } from "./stats.ts";

export async function runBounded(limitMs: number, cleanup: () => Promise<void>, main: () => Promise<void>) {
  let closing: Promise<void> | null = null;
  const once = () => {
    closing ??= cleanup().catch((err) => say(`cleanup: ${err}`));
    return closing;
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => void once().then(() => process.exit(130)));
  const watchdog = setTimeout(() => {
    say(`time limit ${limitMs / 1000} s reached: aborting`);
    void once().then(() => process.exit(2));
  }, limitMs);
  try {
    await main();
  } finally {
    clearTimeout(watchdog);
    await once();
  }
}
