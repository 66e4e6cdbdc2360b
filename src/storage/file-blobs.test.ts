// The file blob store: streaming writes, ranges, aborts, and the orphan sweep.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { text } from "node:stream/consumers";
import { buffer } from "node:stream/consumers";
import { FileBlobStore } from "./file-blobs.js";

async function write(store: FileBlobStore, data: Buffer): Promise<string> {
  const w = store.create();
  w.stream.write(data);
  return w.commit();
}

describe("FileBlobStore", () => {
  let dir: string;
  let store: FileBlobStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-blobs-"));
    store = await FileBlobStore.open(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("stores bytes under a random id and reads them back whole or by range", async () => {
    const data = randomBytes(100_000);
    const id = await write(store, data);
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.ok((await buffer(store.read(id))).equals(data));
    assert.ok((await buffer(store.read(id, { start: 10, end: 19 }))).equals(data.subarray(10, 20)));
  });

  it("leaves nothing behind when a write is aborted", async () => {
    const w = store.create();
    w.stream.write(Buffer.from("partial"));
    await w.abort();
    assert.deepEqual(readdirSync(join(dir, "tmp")), []);
  });

  it("sweeps temporary files and blobs no record references", async () => {
    const live = await write(store, Buffer.from("live"));
    const dead = await write(store, Buffer.from("dead"));
    writeFileSync(join(dir, "tmp", "leftover"), "x");
    const removed = await store.sweep(async (id) => id !== dead);
    assert.ok(removed >= 2);
    assert.equal(await text(store.read(live)), "live");
    assert.ok(!existsSync(join(dir, "tmp", "leftover")));
    await assert.rejects(buffer(store.read(dead)));
  });

  it("deletes a blob and ignores deleting one twice", async () => {
    const id = await write(store, Buffer.from("bye"));
    await store.delete(id);
    await store.delete(id);
    await assert.rejects(buffer(store.read(id)));
  });
});
