// Accounts: `stocktake accounts create` adds a usable account while the server runs; root
// credentials are generated once, shown once, replaced by keys given at start, and secrets are not
// stored in the clear.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { cliEnv, startTestServer, TEST_METADATA_ENGINE, type TestServer } from "../helpers/server.js";
import { startServer } from "../../src/server/index.js";
import { silentLogger } from "../../src/log.js";

const run = promisify(execFile);

describe("accounts", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  it("adds an account from the command line while the server runs", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "src/main.ts", "accounts", "create", "--data-dir", server.dataDir, "--id", "444455556666", "--json"], { env: cliEnv(server) });
    const creds = JSON.parse(stdout) as { accountId: string; accessKeyId: string; secretAccessKey: string };
    assert.equal(creds.accountId, "444455556666");
    const client = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
    await client.send(new CreateBucketCommand({ Bucket: "cli-account-bucket" }));
    const mine = await client.send(new ListBucketsCommand({}));
    assert.deepEqual(mine.Buckets?.map((b) => b.Name), ["cli-account-bucket"]);
    client.destroy();
  });

  it("accepts chosen keys and refuses an account id that is not 12 digits", async () => {
    const { stdout } = await run(process.execPath, [
      "--import", "tsx", "src/main.ts", "accounts", "create", "--data-dir", server.dataDir, "--access-key", "CHOSENKEY0000000001", "--secret-key", "chosen-secret", "--json",
    ], { env: cliEnv(server) });
    assert.equal(JSON.parse(stdout).accessKeyId, "CHOSENKEY0000000001");
    await assert.rejects(run(process.execPath, ["--import", "tsx", "src/main.ts", "accounts", "create", "--data-dir", server.dataDir, "--id", "12345"], { env: cliEnv(server) }));
  });

  it("lists the accounts with a header row, and as JSON", async () => {
    const cli = (...args: string[]) => run(process.execPath, ["--import", "tsx", "src/main.ts", "accounts", "list", "--data-dir", server.dataDir, ...args], { env: cliEnv(server) });
    const { stdout } = await cli();
    const [header, ...lines] = stdout.trimEnd().split("\n");
    assert.match(header!, /^ACCOUNT ID\s+DISPLAY NAME\s+CREATED \(UTC\)\s+CANONICAL USER ID$/);
    assert.ok(lines.some((l) => l.startsWith("444455556666 ")), stdout);
    assert.ok(lines.every((l) => /^\d{12} .* \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}  [0-9a-f]{64}$/.test(l)), stdout);
    const json = JSON.parse((await cli("--json")).stdout) as { accountId: string; canonicalId: string; createdAt: string }[];
    assert.deepEqual(json.map((a) => a.accountId), lines.map((l) => l.slice(0, 12)));
    assert.ok(json.every((a) => !Number.isNaN(Date.parse(a.createdAt))));
  });

  it("lists, creates, rotates and deletes an account's keys: a removed key is refused at once, the last key kept", async () => {
    const cli = async (...args: string[]) => (await run(process.execPath, ["--import", "tsx", "src/main.ts", ...args, "--data-dir", server.dataDir], { env: cliEnv(server) })).stdout;
    const account = JSON.parse(await cli("accounts", "create", "--id", "777700001111", "--json")) as { accessKeyId: string; secretAccessKey: string };
    const second = JSON.parse(await cli("keys", "create", "--account", "777700001111", "--json")) as { accountId: string; accessKeyId: string; secretAccessKey: string };
    assert.equal(second.accountId, "777700001111");
    const [header, ...lines] = (await cli("keys", "list", "--account", "777700001111")).trimEnd().split("\n");
    assert.match(header!, /^ACCESS KEY ID\s+CREATED \(UTC\)$/);
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]).sort(), [account.accessKeyId, second.accessKeyId].sort());
    assert.ok(!lines.join("").includes(account.secretAccessKey), "secrets are never listed");

    const rotated = JSON.parse(await cli("keys", "rotate", account.accessKeyId, "--json")) as { accessKeyId: string; secretAccessKey: string };
    await assert.rejects(server.clientFor(account.accessKeyId, account.secretAccessKey).send(new ListBucketsCommand({})), { name: "InvalidAccessKeyId" });
    await server.clientFor(rotated.accessKeyId, rotated.secretAccessKey).send(new ListBucketsCommand({}));

    assert.match(await cli("keys", "delete", second.accessKeyId), /^deleted /);
    await assert.rejects(server.clientFor(second.accessKeyId, second.secretAccessKey).send(new ListBucketsCommand({})), { name: "InvalidAccessKeyId" });
    await assert.rejects(cli("keys", "delete", rotated.accessKeyId), /last access key of account 777700001111/);
    await server.clientFor(rotated.accessKeyId, rotated.secretAccessKey).send(new ListBucketsCommand({}));
    await assert.rejects(cli("keys", "create", "--account", "999999999999"), /no account 999999999999/);
  });

  it("stores secrets sealed, in files only their owner can read", async () => {
    const stored = await server.context.metadata.getAccessKey("CHOSENKEY0000000001");
    assert.ok(stored !== undefined && !stored.secretAccessKey.includes("chosen-secret"), "the secret is not stored in the clear");
    if (TEST_METADATA_ENGINE === "sqlite") {
      const db = readFileSync(join(server.dataDir, "meta", "stocktake.db"));
      assert.ok(!db.includes(Buffer.from("chosen-secret")), "the secret is not in the database file in the clear");
      assert.equal(statSync(join(server.dataDir, "meta", "stocktake.db")).mode & 0o777, 0o600);
    }
    assert.equal(statSync(join(server.dataDir, "secrets.key")).mode & 0o777, 0o600);
  });

  it("generates root credentials on first start and reuses them on the next", async () => {
    const dir = join(server.dataDir, "generated");
    const first = await startServer({ host: "127.0.0.1", port: 0, dataDir: dir, log: silentLogger });
    assert.equal(first.rootGenerated, true);
    assert.match(first.root.accountId, /^\d{12}$/);
    await first.close();
    const second = await startServer({ host: "127.0.0.1", port: 0, dataDir: dir, log: silentLogger });
    assert.equal(second.rootGenerated, false);
    assert.deepEqual(second.root, first.root);
    await second.close();
  });

  it("makes root keys given at start replace the root key used before, and keeps keys made with keys create", async () => {
    const dir = join(server.dataDir, "replaced");
    const start = (keys: { rootAccessKey?: string; rootSecretKey?: string } = {}) => startServer({ host: "127.0.0.1", port: 0, dataDir: dir, log: silentLogger, ...keys });
    const signs = async (url: string, accessKeyId: string, secretAccessKey: string) => {
      const client = new S3Client({ endpoint: url, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
      try {
        await client.send(new ListBucketsCommand({}));
        return true;
      } catch (err) {
        if ((err as Error).name === "InvalidAccessKeyId") return false;
        throw err;
      } finally {
        client.destroy();
      }
    };
    const generated = await startServer({ host: "127.0.0.1", port: 0, dataDir: dir, log: silentLogger });
    const { accountId } = generated.root;
    await generated.close();
    const extra = JSON.parse((await run(process.execPath, ["--import", "tsx", "src/main.ts", "keys", "create", "--account", accountId, "--data-dir", dir, "--json"])).stdout) as { accessKeyId: string; secretAccessKey: string };

    const first = await start({ rootAccessKey: "ROOTKEYFIRST00000001", rootSecretKey: "first-secret" });
    assert.equal(first.root.accountId, accountId);
    assert.equal(await signs(first.url, "ROOTKEYFIRST00000001", "first-secret"), true);
    assert.equal(await signs(first.url, generated.root.accessKeyId, generated.root.secretAccessKey), false, "the generated key is gone");
    assert.equal(await signs(first.url, extra.accessKeyId, extra.secretAccessKey), true, "a key made with keys create stays");
    await first.close();

    const again = await start({ rootAccessKey: "ROOTKEYFIRST00000001", rootSecretKey: "first-secret" });
    assert.equal(await signs(again.url, "ROOTKEYFIRST00000001", "first-secret"), true, "the same keys again change nothing");
    await again.close();

    const second = await start({ rootAccessKey: "ROOTKEYSECOND0000001", rootSecretKey: "second-secret" });
    assert.equal(await signs(second.url, "ROOTKEYSECOND0000001", "second-secret"), true);
    assert.equal(await signs(second.url, "ROOTKEYFIRST00000001", "first-secret"), false, "the first given key is gone");
    assert.deepEqual(
      (await second.context.metadata.listAccessKeys(accountId)).map((k) => k.accessKeyId).sort(),
      [extra.accessKeyId, "ROOTKEYSECOND0000001"].sort(),
    );
    await second.close();

    const unset = await start();
    assert.equal(unset.rootGenerated, false);
    assert.equal(unset.root.accessKeyId, "ROOTKEYSECOND0000001", "without keys given, the last given key is the root key");
    await unset.close();
  });
});
