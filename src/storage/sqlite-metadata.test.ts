// The SQLite metadata store: the shared MetadataStore contract (./metadata-contract.ts), then what
// only the embedded engine has: a private database file, group commit, persistence across reopen.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteMetadataStore, prefixUpperBound } from "./sqlite-metadata.js";
import { metadataStoreContract, version } from "./metadata-contract.js";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

metadataStoreContract("SqliteMetadataStore", {
  open: async () => {
    const dir = mkdtempSync(join(tmpdir(), "stocktake-meta-"));
    dirs.push(dir);
    return SqliteMetadataStore.open(dir);
  },
});

describe("SqliteMetadataStore", () => {
  let dir: string;
  let store: SqliteMetadataStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-meta-"));
    store = SqliteMetadataStore.open(dir);
    await store.createBucket({ name: "b", id: "b", ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(), versioning: undefined });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the database file private to its owner", () => {
    assert.equal(statSync(join(dir, "meta", "stocktake.db")).mode & 0o777, 0o600);
  });

  it("computes the prefix upper bound in bytes", () => {
    assert.deepEqual(prefixUpperBound("ab"), Buffer.from("ac"));
    assert.deepEqual(prefixUpperBound("a\u{10FFFF}"), Buffer.from([0x61, 0xf4, 0x8f, 0xbf, 0xc0]));
  });

  it("commits concurrent writes together in few transactions", async () => {
    const before = store.committedBatches;
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.putVersion({ name: "b", id: "b" }, version("b", `group/${i}`))));
    const batches = store.committedBatches - before;
    assert.ok(batches >= 1 && batches < 10, `200 writes took ${batches} transactions`);
    assert.equal((await store.listCurrent({ bucket: "b", prefix: "group/", limit: 1000 })).length, 200);
  });

  it("keeps everything across close and reopen", async () => {
    await store.close();
    store = SqliteMetadataStore.open(dir);
    assert.equal((await store.getBucket("b"))?.ownerAccountId, "111122223333");
    assert.ok((await store.listCurrent({ bucket: "b", prefix: "group/", limit: 1000 })).length === 200);
  });
});
