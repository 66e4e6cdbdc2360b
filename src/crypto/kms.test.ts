// The local key service: the master key's file, environment and check value; KMS keys named by
// id, ARN, alias and alias ARN within their account; aws/s3 made once on first use.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { SqliteMetadataStore } from "../storage/sqlite-metadata.js";
import { KeyService, KmsKeyNotFound, loadMasterKey } from "./kms.js";

const dirs: string[] = [];
function freshStore() {
  const dir = mkdtempSync(join(tmpdir(), "stocktake-kms-"));
  dirs.push(dir);
  return { dir, metadata: SqliteMetadataStore.open(dir) };
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("master key", () => {
  it("is created once as a 0600 file and refused when another key is given later", async () => {
    const { dir, metadata } = freshStore();
    const key = await loadMasterKey(dir, metadata);
    assert.equal(key.length, 32);
    assert.equal(statSync(join(dir, "master.key")).mode & 0o777, 0o600);
    assert.deepEqual(await loadMasterKey(dir, metadata), key);
    assert.deepEqual(await loadMasterKey(dir, metadata, readFileSync(join(dir, "master.key"), "utf8")), key);
    await assert.rejects(loadMasterKey(dir, metadata, randomBytes(32).toString("base64")), /not the one/);
    await metadata.close();
  });

  it("comes from the environment without a file, and its absence is an error later", async () => {
    const { dir, metadata } = freshStore();
    const given = randomBytes(32).toString("hex");
    assert.deepEqual(await loadMasterKey(dir, metadata, given), Buffer.from(given, "hex"));
    await assert.rejects(loadMasterKey(dir, metadata), /master.key is missing/);
    await assert.rejects(loadMasterKey(dir, metadata, "c2hvcnQ="), /32-byte/);
    await metadata.close();
  });
});

describe("KMS keys", () => {
  it("resolves a key by id, ARN, alias and alias ARN in its own account only", async () => {
    const { dir, metadata } = freshStore();
    const keys = new KeyService(metadata, await loadMasterKey(dir, metadata), "us-east-1");
    const made = await keys.createKey("111122223333", { alias: "alias/app" });
    for (const name of [made.keyId, made.arn, "alias/app", "arn:aws:kms:us-east-1:111122223333:alias/app"]) {
      const k = await keys.resolve("111122223333", name);
      assert.equal(k.arn, made.arn, name);
      assert.equal(k.material.length, 32);
    }
    await assert.rejects(keys.resolve("444455556666", made.keyId), KmsKeyNotFound);
    await assert.rejects(keys.resolve("444455556666", "alias/app"), KmsKeyNotFound);
    await assert.rejects(keys.resolve("111122223333", made.arn.replace("us-east-1", "eu-west-1")), KmsKeyNotFound);
    await assert.rejects(keys.createKey("111122223333", { alias: "alias/app" }), /already exists/);
    await assert.rejects(keys.createKey("111122223333", { alias: "alias/aws/other" }), /reserved/);
    // The material is stored sealed: the stored record does not contain it.
    assert.ok(!JSON.stringify(await keys.listKeys()).includes((await keys.resolve("111122223333", made.arn)).material.toString("base64")));
    await metadata.close();
  });

  it("creates the AWS managed key aws/s3 once per account, even under concurrent first uses", async () => {
    const { dir, metadata } = freshStore();
    const keys = new KeyService(metadata, await loadMasterKey(dir, metadata), "us-east-1");
    const [a, b] = await Promise.all([keys.awsManagedKey("111122223333"), keys.awsManagedKey("111122223333")]);
    assert.equal(a.arn, b.arn);
    assert.equal((await keys.resolve("111122223333", "alias/aws/s3")).arn, a.arn);
    assert.notEqual((await keys.awsManagedKey("444455556666")).arn, a.arn);
    assert.equal((await keys.listKeys("111122223333")).length, 1);
    await metadata.close();
  });
});
