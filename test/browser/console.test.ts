// The console in headless Chromium against a real server holding a bucket with a history (three
// daily reports, test/helpers/console-seed.ts): sign-in, objects, inventory configurations, a
// report run on demand, the charts' numbers and the report browser's previews. Skipped, saying
// why, on a machine without Chromium; .ci/run installs it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { GetBucketInventoryConfigurationCommand, GetObjectCommand, HeadObjectCommand, PutBucketInventoryConfigurationCommand, ListObjectVersionsCommand, PutBucketTaggingCommand, PutObjectTaggingCommand } from "@aws-sdk/client-s3";
import type { Browser, Page } from "playwright-core";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { signedFetch } from "../helpers/raw.js";
import { buildConsole, launchBrowser, noBrowserReason, pageErrors, signIn } from "../helpers/browser.js";
import { seedConsoleDemo, ShiftedClock, SEED_CONFIG_ID, SEED_DESTINATION, SEED_MAX_SKEW_MS, SEED_SOURCE, type SeedFacts } from "../helpers/console-seed.js";

import type { InventoryRunJson } from "../../src/s3/inventory-runs.js";
import type { InventoryRun as ConsoleRun } from "../../console/src/api-types.js";

// Checked by the type checker: the console's declared view of the runs JSON
// (console/src/api-types.ts) accepts every run the server answers with.
export const serverRunsFitTheConsole: (run: InventoryRunJson) => ConsoleRun = (run) => run;

const skip = noBrowserReason();

describe("console in a browser", { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let facts: SeedFacts;
  let consoleUrl: string;
  let clock: ShiftedClock;

  before(async () => {
    const consoleDir = await buildConsole();
    clock = new ShiftedClock();
    server = await startTestServer({ consoleDir, clock, maxClockSkewMs: SEED_MAX_SKEW_MS });
    facts = await seedConsoleDemo(server, server.client, clock);
    consoleUrl = `${server.url}/_stocktake/console/`;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page.setDefaultTimeout(15_000);
    errors = pageErrors(page);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const go = (hash: string) => page.goto(consoleUrl + hash);

  it("refuses a wrong secret with S3's error and signs in with the right one", async () => {
    await signIn(page, consoleUrl, TEST_ACCESS_KEY, "not-the-secret");
    await assert.doesNotReject(page.getByRole("alert").filter({ hasText: "SignatureDoesNotMatch" }).waitFor());
    await signIn(page, consoleUrl);
    assert.equal(await page.getByTestId("signed-in-as").textContent(), TEST_ACCESS_KEY);
  });

  it("keeps the keys out of every store another page of this origin could read", async () => {
    const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookies: document.cookie }));
    assert.deepEqual(stored, { local: 0, session: 0, cookies: "" });
    const cookies = await page.context().cookies();
    assert.deepEqual(cookies, []);
  });

  it("lists the buckets", async () => {
    await page.getByTestId("bucket-row").first().waitFor();
    const names = await page.getByTestId("bucket-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-bucket")));
    assert.deepEqual(names.sort(), [SEED_DESTINATION, SEED_SOURCE].sort());
  });

  it("browses by prefix, uploads, downloads and deletes objects", async () => {
    await page.getByTestId("bucket-row").filter({ hasText: SEED_SOURCE }).getByTestId("bucket-link").click();
    const folders = page.getByTestId("folder-link");
    await folders.first().waitFor();
    assert.deepEqual((await folders.evaluateAll((links) => links.map((l) => l.getAttribute("data-prefix")))).sort(), ["archive/", "logs/", "photos/", "private/", "videos/"]);
    await folders.filter({ hasText: "photos/" }).click();
    // The root listing's own top-level rows stay until the click's navigation renders; wait for
    // a row of the folder itself.
    await page.locator('[data-testid=object-row][data-key^="photos/"]').first().waitFor();
    assert.equal(await page.getByTestId("object-row").count(), 8);

    const body = Buffer.from("uploaded from the console ü\n");
    await page.getByTestId("upload-input").setInputFiles({ name: "from browser #1.txt", mimeType: "text/plain", buffer: body });
    await page.locator('[data-testid=upload-row][data-status=done]').waitFor();
    const head = await server.client.send(new HeadObjectCommand({ Bucket: SEED_SOURCE, Key: "photos/from browser #1.txt" }));
    assert.equal(head.ContentLength, body.length);

    const row = page.locator('[data-testid=object-row][data-key="photos/from browser #1.txt"]');
    await row.waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), row.getByTestId("download-button").click()]);
    assert.deepEqual(readFileSync((await download.path())!), body);

    // Details: what HEAD and the tags say, read when the row is opened.
    await server.client.send(new PutObjectTaggingCommand({ Bucket: SEED_SOURCE, Key: "photos/from browser #1.txt", Tagging: { TagSet: [{ Key: "team", Value: "web" }] } }));
    await row.getByTestId("details-button").click();
    const details = page.getByTestId("object-details");
    await details.getByTestId("detail").first().waitFor();
    const detail = async (label: string) => (await details.locator(`[data-testid=detail][data-label="${label}"] dd`).textContent())?.trim();
    assert.equal(await detail("Content type"), "text/plain");
    assert.equal(await detail("ETag"), head.ETag);
    assert.equal(await detail("Encryption"), "AES256");
    assert.equal(await detail("Tags"), "team = web");
    assert.equal(await detail("Metadata"), "none");
    await row.getByTestId("details-button").click();
    await details.waitFor({ state: "detached" });

    await row.getByTestId("delete-button").click();
    await row.getByTestId("delete-confirm").click();
    await row.waitFor({ state: "detached" });
    const versions = await server.client.send(new ListObjectVersionsCommand({ Bucket: SEED_SOURCE, Prefix: "photos/from browser" }));
    assert.equal(versions.DeleteMarkers?.[0]?.IsLatest, true, "the versioned bucket keeps the upload behind a delete marker");
    await assert.rejects(server.client.send(new GetObjectCommand({ Bucket: SEED_SOURCE, Key: "photos/from browser #1.txt" })), { name: "NoSuchKey" });
  });

  it("shows a bucket's settings, each read on its own: set, not configured", async () => {
    await server.client.send(new PutBucketTaggingCommand({ Bucket: SEED_SOURCE, Tagging: { TagSet: [{ Key: "env", Value: "test" }] } }));
    await go(`#/b/${SEED_SOURCE}/settings`);
    const setting = (id: string) => page.locator(`[data-testid=setting][data-setting="${id}"]`);
    // Every setting answered (11 of them), none still loading.
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=setting]").length === 11 && !document.querySelector("[data-testid=setting][data-state=loading]"));
    assert.equal(await setting("versioning").getAttribute("data-state"), "set");
    assert.match((await setting("versioning").locator("dd").textContent()) ?? "", /Enabled/);
    assert.equal((await setting("tags").locator("dd").textContent())?.trim(), "env = test");
    assert.match((await setting("encryption").locator("dd").textContent()) ?? "", /AES256/);
    for (const none of ["policy", "cors", "lifecycle", "replication"]) assert.equal(await setting(none).getAttribute("data-state"), "none", none);
    assert.equal(await page.locator("[data-testid=setting][data-state=error]").count(), 0);
  });

  it("creates a configuration (showing the server's validation error), edits it, runs it to a Parquet report it previews, and deletes it", async () => {
    await go(`#/b/${SEED_SOURCE}/inventory`);
    const seeded = page.locator(`[data-testid=config-row][data-id="${SEED_CONFIG_ID}"]`);
    await seeded.waitFor();
    assert.equal(await seeded.getByTestId("config-field-count").textContent(), "7");

    await page.getByTestId("new-config").click();
    const form = page.getByTestId("config-form");
    await form.waitFor();
    assert.equal(await form.locator("[data-testid^=field-]").count(), 19, "every optional field is a checkbox");
    await page.getByTestId("input-id").fill("weekly-parquet");
    await page.getByTestId("input-destinationBucket").fill(SEED_DESTINATION);
    await page.getByTestId("input-accountId").fill("123");
    await page.getByTestId("input-format").selectOption("Parquet");
    await page.getByTestId("input-frequency").selectOption("Weekly");
    for (const field of ["Size", "StorageClass", "ETag"]) await page.getByTestId(`field-${field}`).check();
    await page.getByTestId("save-config").click();
    assert.equal(await page.getByTestId("config-error").textContent(), "InvalidArgument: The destination AccountId must be a 12-digit account id.");

    await page.getByTestId("input-accountId").fill("");
    await page.getByTestId("save-config").click();
    await page.locator('[data-testid=config-row][data-id="weekly-parquet"]').waitFor();
    let saved = await server.client.send(new GetBucketInventoryConfigurationCommand({ Bucket: SEED_SOURCE, Id: "weekly-parquet" }));
    assert.equal(saved.InventoryConfiguration?.Destination?.S3BucketDestination?.Format, "Parquet");
    assert.equal(saved.InventoryConfiguration?.Schedule?.Frequency, "Weekly");
    assert.deepEqual(saved.InventoryConfiguration?.OptionalFields, ["Size", "ETag", "StorageClass"]);

    await go(`#/b/${SEED_SOURCE}/inventory/edit?id=weekly-parquet`);
    await page.getByTestId("field-ETag").waitFor();
    assert.equal(await page.getByTestId("input-id").isEditable(), false, "an id is fixed once made");
    await page.getByTestId("field-ETag").uncheck();
    await page.getByTestId("save-config").click();
    const row = page.locator('[data-testid=config-row][data-id="weekly-parquet"]');
    await row.waitFor();
    saved = await server.client.send(new GetBucketInventoryConfigurationCommand({ Bucket: SEED_SOURCE, Id: "weekly-parquet" }));
    assert.deepEqual(saved.InventoryConfiguration?.OptionalFields, ["Size", "StorageClass"]);

    // Run it now from the list: the runs page shows it succeed, and its Parquet file previews.
    await row.getByTestId("run-now").click();
    await page.locator("[data-testid=run-row][data-status=succeeded]").waitFor();
    assert.match(page.url(), /\/runs\?id=weekly-parquet$/);
    await page.getByTestId("report-link").click();
    await page.getByTestId("preview-button").click();
    await page.getByTestId("preview-table").waitFor();
    assert.equal(Number(await page.getByTestId("preview-total-rows").getAttribute("data-total-rows")), facts.expected.current.count);
    const cells = await page.getByTestId("preview-row").first().locator("td").allTextContents();
    assert.deepEqual(cells.slice(0, 2), [SEED_SOURCE, "archive/2025/backup-1.tar"]);

    await go(`#/b/${SEED_SOURCE}/inventory`);
    await row.getByTestId("delete-config").click();
    await row.getByTestId("delete-config-confirm").click();
    await row.waitFor({ state: "detached" });
    await assert.rejects(server.client.send(new GetBucketInventoryConfigurationCommand({ Bucket: SEED_SOURCE, Id: "weekly-parquet" })), { name: "NoSuchConfiguration" });
  });

  /** A chart's table as label -> field -> number, read from the cells' raw values. */
  async function chartTable(name: string): Promise<Record<string, Record<string, number>>> {
    const table = page.getByTestId(`chart-table-${name}`);
    await table.waitFor();
    return table.locator(`[data-testid=chart-row-${name}]`).evaluateAll((rows) =>
      Object.fromEntries(
        rows.map((r) => [
          r.getAttribute("data-label") ?? "",
          Object.fromEntries([...r.querySelectorAll("[data-field]")].map((c) => [c.getAttribute("data-field")!, Number(c.getAttribute("data-value"))])),
        ]),
      ),
    );
  }

  /** Painted pixels of the chart's canvas: uPlot draws there, so a blank canvas means no chart. */
  function paintedPixels(name: string): Promise<number> {
    return page.getByTestId(`chart-${name}`).locator("canvas").first().evaluate((canvas: HTMLCanvasElement) => {
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
      return painted;
    });
  }

  it("charts the latest summary and the trend with the numbers the seeded writes make", async () => {
    await go(`#/b/${SEED_SOURCE}/insight?id=${SEED_CONFIG_ID}`);
    const { expected } = facts;
    const card = page.getByTestId("card-objects");
    await card.waitFor();
    assert.equal(Number(await card.getAttribute("data-count")), expected.objects.count);
    assert.equal(Number(await card.getAttribute("data-bytes")), expected.objects.bytes);
    assert.equal(Number(await page.getByTestId("card-delete-markers").getAttribute("data-count")), expected.deleteMarkers);
    assert.equal(Number(await page.getByTestId("card-multipart").getAttribute("data-bytes")), expected.multipart.bytes);
    assert.equal(Number(await page.getByTestId("card-noncurrent").getAttribute("data-count")), expected.noncurrent.count);

    assert.deepEqual(await chartTable("storage-classes"), expected.storageClasses);
    assert.deepEqual(await chartTable("encryption"), expected.encryption);
    const prefixes = await chartTable("prefixes");
    const shownPrefixes = Object.fromEntries(Object.entries(expected.prefixes).map(([p, t]) => [p === "" ? "(top level)" : p, t]));
    assert.deepEqual(prefixes, shownPrefixes);

    const totals = Object.values(await chartTable("trend-totals"));
    assert.deepEqual(totals, facts.runs.map((r) => r.objects));
    const growth = Object.values(await chartTable("trend-growth"));
    assert.equal(growth.length, 2);
    assert.equal(growth[1]!.bytesChange, facts.runs[2]!.objects.bytes - facts.runs[1]!.objects.bytes);
    assert.ok(Math.abs(growth[1]!.days! - 1) < 0.01, `runs a day apart, got ${growth[1]!.days} days`);

    for (const chart of ["storage-classes", "encryption", "age-bands", "prefixes", "trend-totals", "trend-classes", "trend-growth"]) {
      assert.ok((await paintedPixels(chart)) > 500, `${chart} is drawn`);
    }
  });

  it("runs a report on demand, sees it succeed, and previews its first rows", async () => {
    await go(`#/b/${SEED_SOURCE}/runs?id=${SEED_CONFIG_ID}`);
    const succeeded = page.locator("[data-testid=run-row][data-status=succeeded]");
    await succeeded.first().waitFor();
    assert.equal(await succeeded.count(), facts.runs.length);

    await page.getByTestId("run-now").click();
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=run-row][data-status=succeeded]").length === n, facts.runs.length + 1);
    // The seeded rows, and since the last seeded report the upload above and its delete marker.
    const newest = succeeded.first();
    assert.equal(Number(await newest.getAttribute("data-rows")), facts.runs.at(-1)!.rows + 2);

    await newest.getByTestId("report-link").click();
    const file = page.getByTestId("manifest-file-row");
    await file.waitFor();
    assert.equal(await file.count(), 1);
    await file.getByTestId("preview-button").click();
    const table = page.getByTestId("preview-table");
    await table.waitFor();
    const header = await table.locator("thead th").allTextContents();
    assert.deepEqual(header.slice(0, 3), ["Bucket", "Key", "VersionId"]);
    const first = await table.getByTestId("preview-row").first().locator("td").allTextContents();
    assert.deepEqual(first.slice(0, 2), [SEED_SOURCE, "archive/2025/backup-1.tar"]);
    assert.equal(Number(await page.getByTestId("preview-total-rows").getAttribute("data-total-rows")), facts.runs.at(-1)!.rows + 2);
  });

  it("shows a run in progress live, then its outcome", async () => {
    await go(`#/b/${SEED_SOURCE}/runs?id=${SEED_CONFIG_ID}`);
    await page.locator("[data-testid=run-row][data-status=succeeded]").first().waitFor();
    // Reports are named by the minute: a run in the minute of the newest report (the list's first)
    // waits, running, for the next minute. The server's clock is put at the start of that minute,
    // so the run waits until the test moves the clock on.
    const listed = await signedFetch(server.url, { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, "GET", `/${SEED_SOURCE}`, { "inventory-runs": "", id: SEED_CONFIG_ID }, undefined, { accept: "application/json" });
    const lastSnapshot = Date.parse((JSON.parse(listed.text) as { runs: ConsoleRun[] }).runs[0]!.snapshotAt!);
    clock.offsetMs = Math.floor(lastSnapshot / 60_000) * 60_000 + 1000 - Date.now();
    await page.getByTestId("run-now").click();
    const running = page.locator("[data-testid=run-row][data-status=running]");
    await running.waitFor();
    assert.match((await running.getByTestId("run-progress").textContent()) ?? "", /In progress: 0 rows, .* elapsed/);
    clock.offsetMs += 60_000;
    try {
      await running.waitFor({ state: "detached" });
    } finally {
      clock.offsetMs = 0;
    }
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=run-row][data-status=succeeded]").length === n, facts.runs.length + 2);
  });

  it("shows why a run failed", async () => {
    await server.client.send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: SEED_SOURCE,
        Id: "nowhere",
        InventoryConfiguration: {
          Id: "nowhere",
          IsEnabled: true,
          IncludedObjectVersions: "Current",
          Schedule: { Frequency: "Daily" },
          Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::no-such-reports", Format: "CSV" } },
        },
      }),
    );
    await go(`#/b/${SEED_SOURCE}/runs?id=nowhere`);
    await page.getByTestId("run-now").click();
    const failed = page.locator("[data-testid=run-row][data-status=failed]");
    await failed.waitFor();
    assert.equal(await failed.getByTestId("run-error").textContent(), "destination bucket no-such-reports does not exist or does not accept this report");
  });

  it("raised no error in the page", () => {
    assert.deepEqual(errors, []);
  });
});
