// The command line as a user installs and runs it: built as `npm run build` builds it, installed
// with `npm install -g` from the checkout, and run from another directory with nothing but the
// aws config and credentials files and AWS_PROFILE to find the server and the keys.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { dailyCsvInventory } from "../helpers/inventory.js";

const run = promisify(execFile);
const REPO_ROOT = new URL("../../", import.meta.url).pathname;

describe("the installed stocktake command", () => {
  const work = mkdtempSync(join(tmpdir(), "stocktake-install-"));
  const checkout = join(work, "checkout");
  const prefix = join(work, "global");
  const elsewhere = join(work, "somewhere", "else");
  const bin = join(prefix, "bin", "stocktake");
  let server: TestServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    // A checkout as `npm ci` leaves it: compiled into dist/ (the console's assets are not needed).
    mkdirSync(checkout);
    await run(process.execPath, [join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", join(REPO_ROOT, "tsconfig.build.json"), "--outDir", join(checkout, "dist")]);
    copyFileSync(join(REPO_ROOT, "package.json"), join(checkout, "package.json"));
    symlinkSync(join(REPO_ROOT, "node_modules"), join(checkout, "node_modules"));
    // --ignore-scripts: `prepare` would build again what is built above.
    await run("npm", ["install", "-g", "--prefix", prefix, "--ignore-scripts", "--no-audit", "--no-fund", checkout], { timeout: 120_000 });
    mkdirSync(elsewhere, { recursive: true });

    server = await startTestServer();
    await dailyCsvInventory(server.client, "install-source", "install-reports");
    await server.client.send(new PutObjectCommand({ Bucket: "install-source", Key: "a.txt", Body: "a" }));
    writeFileSync(join(work, "config"), `[profile stocktake]\nregion = us-east-1\nendpoint_url = ${server.url}\n`);
    writeFileSync(join(work, "credentials"), `[stocktake]\naws_access_key_id = ${TEST_ACCESS_KEY}\naws_secret_access_key = ${TEST_SECRET_KEY}\n`);
    // Only what a shell would carry: no keys and no endpoint in the environment itself.
    env = {
      PATH: process.env.PATH,
      HOME: work,
      AWS_CONFIG_FILE: join(work, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(work, "credentials"),
      AWS_PROFILE: "stocktake",
      AWS_EC2_METADATA_DISABLED: "true",
    };
  });

  after(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("runs from any directory once installed with npm install -g", async () => {
    const { stdout } = await run(bin, ["--help"], { cwd: elsewhere, env });
    assert.match(stdout, /^Usage: stocktake/);
    assert.match(stdout, /inventory\s+inventory reports on demand/);
  });

  it("produces a report on demand with the keys and endpoint of AWS_PROFILE's profile", async () => {
    const { stdout, stderr } = await run(bin, ["inventory", "run", "--bucket", "install-source", "--id", "daily"], { cwd: elsewhere, env, timeout: 60_000 });
    assert.match(stdout.trim(), /^install-source\/daily\/.*\/manifest\.json$/);
    assert.match(stderr, /1 rows in 1 file/);
  });

  it("lists the runs as a table with headers, start times and durations", async () => {
    const { stdout } = await run(bin, ["inventory", "runs", "--bucket", "install-source"], { cwd: elsewhere, env, timeout: 60_000 });
    const [header, ...rows] = stdout.trimEnd().split("\n");
    assert.match(header!, /^RUN ID\s+CONFIGURATION\s+STATUS\s+STARTED \(UTC\)\s+DURATION\s+ROWS\s+SIZE\s+FILES\s+MANIFEST OR ERROR$/);
    const ours = rows.find((r) => /\ssucceeded\s/.test(r));
    assert.ok(ours, stdout);
    assert.match(ours, /^\S+\s+daily\s+succeeded\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s+\d+\.\d s\s+1\s+\d+ B\s+1\s+install-source\/daily\/\S+\/manifest\.json$/);
  });

  it("fails with the reason when the profile has no keys", async () => {
    const failed = await run(bin, ["inventory", "runs", "--bucket", "install-source", "--profile", "nobody"], { cwd: elsewhere, env }).then(
      () => assert.fail("expected a failure"),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^stocktake: no AWS credentials for profile "nobody"/);
  });
});
