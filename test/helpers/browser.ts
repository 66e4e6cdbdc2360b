// The console driven in a real browser: Debian's Chromium (or STOCKTAKE_CHROMIUM) through
// playwright-core, against a console built from the current sources into a temporary directory,
// so a test never runs against a stale dist/console/.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from "./server.js";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** The browser to drive, or undefined when the machine has none. */
export function findChromium(): string | undefined {
  const chosen = process.env.STOCKTAKE_CHROMIUM;
  if (chosen) return chosen;
  return CANDIDATES.find((path) => existsSync(path));
}

/** Why the browser tests are skipped, or false when they can run. */
export function noBrowserReason(): string | false {
  return findChromium() === undefined
    ? "no Chromium found (install Debian's chromium package, as .ci/run does, or set STOCKTAKE_CHROMIUM to a Chromium binary)"
    : false;
}

let built: Promise<string> | undefined;

/** Builds the console once per test process; resolves to the directory to serve. */
export function buildConsole(): Promise<string> {
  built ??= (async () => {
    const { build } = await import("vite");
    const outDir = mkdtempSync(join(tmpdir(), "stocktake-console-build-"));
    await build({
      configFile: fileURLToPath(new URL("../../console/vite.config.ts", import.meta.url)),
      build: { outDir, emptyOutDir: true },
      logLevel: "error",
    });
    return outDir;
  })();
  return built;
}

export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: findChromium(), args: ["--no-sandbox", "--disable-gpu"] });
}

/**
 * Collects the page's uncaught errors and anything the Content-Security-Policy refused, so a test
 * can assert there were none. (The browser also logs S3's error answers, which tests expect.)
 */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  return errors;
}

export async function signIn(page: Page, consoleUrl: string, accessKeyId = TEST_ACCESS_KEY, secretAccessKey = TEST_SECRET_KEY): Promise<void> {
  await page.goto(consoleUrl);
  await page.fill("input[name=accessKeyId]", accessKeyId);
  await page.fill("input[name=secretAccessKey]", secretAccessKey);
  await page.click("button[type=submit]");
}
