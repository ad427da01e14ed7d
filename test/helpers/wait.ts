/**
 * Polls `check` every `everyMs` until it holds; an error thrown by a check counts as "not yet" and
 * is reported if time runs out.
 */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${String(last)})`);
    await Bun.sleep(everyMs);
  }
}
