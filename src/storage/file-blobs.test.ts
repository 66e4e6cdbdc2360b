// The file blob store: streaming writes, ranges, aborts, and the orphan sweep.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
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

  it("on a shared directory, sweeps only what dead nodes and old crashes left", async () => {
    const shared = mkdtempSync(join(tmpdir(), "stocktake-blobs-shared-"));
    try {
      const a = await FileBlobStore.open(shared, { tmpName: "node-a" });
      const b = await FileBlobStore.open(shared, { tmpName: "node-b" });
      const gone = await FileBlobStore.open(shared, { tmpName: "node-gone" });
      const old = await write(a, Buffer.from("unreferenced, written before the cut"));
      writeFileSync(join(shared, "tmp", "node-gone", "upload-in-flight"), "x");
      writeFileSync(join(shared, "tmp", "node-b", "upload-in-flight"), "x");
      writeFileSync(join(shared, "tmp", "loose-old"), "x");
      const old2 = new Date(Date.now() - 3_600_000);
      for (const path of [join(shared, "tmp", "node-gone"), join(shared, "tmp", "node-b"), join(shared, "tmp", "loose-old"), join(shared, "blobs", old.slice(0, 2), old.slice(2, 4), old)]) {
        utimesSync(path, old2, old2);
      }
      const cut = new Date(Date.now() - 60_000);
      const fresh = await write(b, Buffer.from("unreferenced, written after the cut: another node's commit to come"));
      writeFileSync(join(shared, "tmp", "loose-new"), "x");
      const removed = await gone.sweep(async () => false, { liveTmpNames: new Set(["node-a", "node-b"]), writtenBefore: cut });
      assert.equal(removed, 3, "the dead node's directory, the old loose file, the old unreferenced blob");
      assert.deepEqual(readdirSync(join(shared, "tmp")).sort(), ["loose-new", "node-a", "node-b"]);
      assert.deepEqual(readdirSync(join(shared, "tmp", "node-b")), ["upload-in-flight"]);
      await assert.rejects(buffer(a.read(old)));
      assert.equal(await text(a.read(fresh)), "unreferenced, written after the cut: another node's commit to come");
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  it("deletes a blob and ignores deleting one twice", async () => {
    const id = await write(store, Buffer.from("bye"));
    await store.delete(id);
    await store.delete(id);
    await assert.rejects(buffer(store.read(id)));
  });
});
