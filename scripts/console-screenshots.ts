// Screenshots of every console page for the README: `npm run screenshots` starts a server on a
// temporary directory, writes the browser tests' seeded bucket (three daily reports a day apart),
// and photographs each page in Chromium into docs/images/console/.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY } from "../test/helpers/server.js";
import { buildConsole, launchBrowser, noBrowserReason, signIn } from "../test/helpers/browser.js";
import { seedConsoleDemo, ShiftedClock, SEED_CONFIG_ID, SEED_DESTINATION, SEED_MAX_SKEW_MS, SEED_SOURCE } from "../test/helpers/console-seed.js";
import { signedFetch } from "../test/helpers/raw.js";

const why = noBrowserReason();
if (why) {
  process.stderr.write(`cannot take screenshots: ${why}\n`);
  process.exit(1);
}

const outDir = fileURLToPath(new URL("../docs/images/console/", import.meta.url));
mkdirSync(outDir, { recursive: true });

const clock = new ShiftedClock();
const server = await startTestServer({ consoleDir: await buildConsole(), clock, maxClockSkewMs: SEED_MAX_SKEW_MS });
const browser = await launchBrowser();
try {
  await seedConsoleDemo(server, server.client, clock);
  const runs = await signedFetch(server.url, { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, "GET", `/${SEED_SOURCE}`, { "inventory-runs": "", id: SEED_CONFIG_ID }, undefined, {
    accept: "application/json",
  });
  // Newest first.
  const latest = (JSON.parse(runs.text) as { runs: { status: string; manifestKey?: string }[] }).runs.find((r) => r.status === "succeeded");
  if (latest?.manifestKey === undefined) throw new Error("the seeded reports did not succeed");

  const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  const consoleUrl = `${server.url}/_stocktake/console/`;
  await signIn(page, consoleUrl);
  await page.getByTestId("signed-in-as").waitFor();

  const shots: { name: string; hash: string; ready: string; before?: () => Promise<void> }[] = [
    { name: "buckets", hash: "#/", ready: "[data-testid=bucket-row]" },
    { name: "objects", hash: `#/b/${SEED_SOURCE}?prefix=photos%2F&versions=1`, ready: "[data-testid=version-row]" },
    { name: "inventory-configurations", hash: `#/b/${SEED_SOURCE}/inventory`, ready: "[data-testid=config-row]" },
    { name: "inventory-edit", hash: `#/b/${SEED_SOURCE}/inventory/edit?id=${SEED_CONFIG_ID}`, ready: "[data-testid=config-form]" },
    { name: "runs", hash: `#/b/${SEED_SOURCE}/runs?id=${SEED_CONFIG_ID}`, ready: "[data-testid=run-row]" },
    { name: "insight", hash: `#/b/${SEED_SOURCE}/insight?id=${SEED_CONFIG_ID}`, ready: "[data-testid=chart-trend-growth] canvas" },
    { name: "settings", hash: `#/b/${SEED_SOURCE}/settings`, ready: "[data-testid=setting][data-setting=versioning][data-state=set]" },
    {
      name: "report",
      hash: `#/report?bucket=${SEED_DESTINATION}&key=${encodeURIComponent(latest.manifestKey)}`,
      ready: "[data-testid=manifest-file-row]",
      before: async () => {
        await page.getByTestId("preview-button").first().click();
        await page.getByTestId("preview-table").waitFor();
      },
    },
  ];
  for (const shot of shots) {
    await page.goto(consoleUrl + shot.hash);
    await page.locator(shot.ready).first().waitFor({ timeout: 15_000 });
    await shot.before?.();
    // Charts draw on the next frame after their data arrives.
    await page.waitForTimeout(300);
    const path = `${outDir}${shot.name}.png`;
    await page.screenshot({ path, fullPage: shot.name === "insight" });
    process.stdout.write(`${path}\n`);
  }
} finally {
  await browser.close();
  await server.close();
}
