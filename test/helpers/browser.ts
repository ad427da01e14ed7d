/**
 * A real browser for the dashboard tests: Debian's Chromium (installed by the launcher's test
 * command) driven by playwright-core. Nothing is downloaded; screenshots go to .local/screenshots.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { LOCAL } from "../../infra/lib/paths.ts";

export const SCREENSHOTS = join(LOCAL, "screenshots");
const EXECUTABLE = process.env.A4C_CHROMIUM ?? "/usr/bin/chromium";

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Root has no user namespace sandbox here; the browser only ever loads our own loopback pages.
  return chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ["--no-sandbox"] });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
