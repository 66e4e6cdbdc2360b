// BucketSettings: reads through to the store once, sees its own writes and deletes, forgets a bucket.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteMetadataStore } from "../storage/sqlite-metadata.js";
import { BucketSettings } from "./bucket-settings.js";

describe("BucketSettings", () => {
  const dir = mkdtempSync(join(tmpdir(), "stocktake-settings-"));
  const store = SqliteMetadataStore.open(dir);
  before(async () => {
    await store.createBucket({ name: "b", id: "b", ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(), versioning: undefined });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("returns what was put, undefined after delete, and survives a new cache over the same store", async () => {
    const settings = new BucketSettings(store);
    assert.equal(await settings.get("b", "lifecycle"), undefined);
    await settings.put({ name: "b", id: "b" }, "lifecycle", { rules: [1] });
    assert.deepEqual(await settings.get("b", "lifecycle"), { rules: [1] });
    assert.deepEqual(await new BucketSettings(store).get("b", "lifecycle"), { rules: [1] });
    assert.equal(await settings.delete({ name: "b", id: "b" }, "lifecycle"), true);
    assert.equal(await settings.get("b", "lifecycle"), undefined);
    assert.equal(await settings.delete({ name: "b", id: "b" }, "lifecycle"), false);
  });

  it("reads the store again after forget", async () => {
    const settings = new BucketSettings(store);
    assert.equal(await settings.get("c", "ownership"), undefined);
    await store.putBucketConfig("c", "ownership", "", JSON.stringify("ObjectWriter"));
    assert.equal(await settings.get("c", "ownership"), undefined, "cached absence");
    settings.forget("c");
    assert.equal(await settings.get("c", "ownership"), "ObjectWriter");
  });
});
