// The root key across starts, with the store failing where a crash could stop a start.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { SqliteMetadataStore } from "../storage/sqlite-metadata.js";
import { ensureRootAccount } from "./accounts.js";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function store(): SqliteMetadataStore {
  const dir = mkdtempSync(join(tmpdir(), "stocktake-accounts-"));
  dirs.push(dir);
  return SqliteMetadataStore.open(dir);
}

describe("ensureRootAccount", () => {
  const sealingKey = randomBytes(32);
  const now = new Date();
  const first = { accountId: "111122223333", accessKeyId: "ROOTFIRST", secretAccessKey: "first" };
  const second = { accountId: "111122223333", accessKeyId: "ROOTSECOND", secretAccessKey: "second" };

  it("removes the replaced root key even when a start stopped before removing it", async () => {
    const metadata = store();
    await ensureRootAccount(metadata, sealingKey, first, now);
    // The start that brings the second key stops where it would remove the first.
    const deleteAccessKey = metadata.deleteAccessKey.bind(metadata);
    metadata.deleteAccessKey = async () => {
      throw new Error("stopped");
    };
    await assert.rejects(ensureRootAccount(metadata, sealingKey, second, now), /stopped/);
    metadata.deleteAccessKey = deleteAccessKey;
    assert.ok(await metadata.getAccessKey(second.accessKeyId), "the new key was stored first: never no key");

    const again = await ensureRootAccount(metadata, sealingKey, second, now);
    assert.equal(again.credentials.accessKeyId, second.accessKeyId);
    assert.equal(await metadata.getAccessKey(first.accessKeyId), undefined, "the first key is gone");
    assert.deepEqual((await metadata.listAccessKeys(first.accountId)).map((k) => k.accessKeyId), [second.accessKeyId]);
    await metadata.close();
  });

  it("keeps another account's key when the root account id changes with the keys", async () => {
    const metadata = store();
    await ensureRootAccount(metadata, sealingKey, first, now);
    const moved = await ensureRootAccount(metadata, sealingKey, { ...second, accountId: "444455556666" }, now);
    assert.equal(moved.replaced, undefined);
    assert.ok(await metadata.getAccessKey(first.accessKeyId), "the old account keeps its key");
    await metadata.close();
  });

  it("takes the root account's newest key when the remembered root key was rotated or deleted, instead of generating one", async () => {
    const metadata = store();
    const made = await ensureRootAccount(metadata, sealingKey, {}, now);
    assert.equal(made.generated, true);
    const accountId = made.credentials.accountId;
    const sealed = (await metadata.getAccessKey(made.credentials.accessKeyId))!.secretAccessKey;
    const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
    // `stocktake keys create`: a newer key does not displace the remembered one.
    await metadata.putAccessKey({ accessKeyId: "CREATEDLATER", secretAccessKey: sealed, accountId, createdAt: at(1) });
    assert.equal((await ensureRootAccount(metadata, sealingKey, {}, now)).credentials.accessKeyId, made.credentials.accessKeyId);
    // `stocktake keys rotate` of the root key: a new key for the account, then the old one removed.
    await metadata.putAccessKey({ accessKeyId: "ROTATED", secretAccessKey: sealed, accountId, createdAt: at(2) });
    await metadata.deleteAccessKey(made.credentials.accessKeyId);

    const next = await ensureRootAccount(metadata, sealingKey, {}, now);
    assert.equal(next.generated, false);
    assert.equal(next.credentials.accessKeyId, "ROTATED");
    assert.equal(next.credentials.secretAccessKey, made.credentials.secretAccessKey);
    assert.deepEqual((await metadata.listAccessKeys(accountId)).map((k) => k.accessKeyId).sort(), ["CREATEDLATER", "ROTATED"], "no key was generated");
    // The setting now names the key taken: a newer key made afterwards does not displace it.
    await metadata.putAccessKey({ accessKeyId: "NEWEST", secretAccessKey: sealed, accountId, createdAt: at(3) });
    assert.equal((await ensureRootAccount(metadata, sealingKey, {}, now)).credentials.accessKeyId, "ROTATED");
    await metadata.close();
  });
});
