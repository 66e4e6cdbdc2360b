// boto3 and the aws CLI (both on the machine) against a real server, configured only through
// the environment a user would set: AWS_ENDPOINT_URL and the key pair.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";

const run = promisify(execFile);

describe("python clients", () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  let work: string;

  before(async () => {
    server = await startTestServer();
    work = mkdtempSync(join(tmpdir(), "stocktake-cli-"));
    env = {
      ...process.env,
      STOCKTAKE_URL: server.url,
      AWS_ENDPOINT_URL: server.url,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_CONFIG_FILE: join(work, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(work, "credentials"),
    };
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  });

  it("passes the boto3 checks (buckets, objects, ranges, copy, listing, presigned URLs, batch delete)", async () => {
    const { stdout } = await run("python3", ["test/clients/boto3_smoke.py"], { env, timeout: 120_000 });
    assert.match(stdout, /boto3 checks passed/);
    assert.doesNotMatch(stdout, /FAIL/);
  });

  it("passes the boto3 versioning checks (version ids, delete markers, the null version, paginated listing)", async () => {
    const { stdout } = await run("python3", ["test/clients/boto3_versioning.py"], { env, timeout: 120_000 });
    assert.match(stdout, /boto3 versioning checks passed/);
  });

  it("works with the aws CLI's s3 and s3api commands", async () => {
    const aws = (...args: string[]) => run("aws", args, { env, timeout: 60_000 });
    await aws("s3", "mb", "s3://cli-bucket");
    const file = join(work, "upload.txt");
    writeFileSync(file, "uploaded by the aws cli\n");
    await aws("s3", "cp", file, "s3://cli-bucket/folder/upload.txt");
    const ls = await aws("s3", "ls", "s3://cli-bucket/folder/");
    assert.match(ls.stdout, /upload\.txt/);
    const down = join(work, "download.txt");
    await aws("s3", "cp", "s3://cli-bucket/folder/upload.txt", down);
    assert.equal(readFileSync(down, "utf8"), "uploaded by the aws cli\n");
    const listed = JSON.parse((await aws("s3api", "list-objects-v2", "--bucket", "cli-bucket")).stdout);
    assert.deepEqual(listed.Contents.map((c: { Key: string }) => c.Key), ["folder/upload.txt"]);
    const missing = await aws("s3api", "head-object", "--bucket", "cli-bucket", "--key", "nope").then(
      () => "",
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(missing, /404/);
    await aws("s3", "rm", "--recursive", "s3://cli-bucket/");
    await aws("s3", "rb", "s3://cli-bucket");
    const buckets = JSON.parse((await aws("s3api", "list-buckets")).stdout);
    assert.ok(!buckets.Buckets.some((b: { Name: string }) => b.Name === "cli-bucket"));
  });
});
