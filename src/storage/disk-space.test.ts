// The disk-full machinery without a full disk: the reserve and its release, refusals, stopping
// blob writes in flight, recovery; and the metadata store's group commit meeting SQLITE_FULL
// (made to happen with SQLite's max_page_count). The real full disk is in
// test/reliability/disk-full.test.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { DiskFullError, DiskSpace, isDiskFullError, parseByteSize, RESERVE_PIECES } from "./disk-space.js";
import { FileBlobStore } from "./file-blobs.js";
import { SqliteMetadataStore } from "./sqlite-metadata.js";
import { silentLogger } from "../log.js";

const KiB = 1024;

function pieces(dataDir: string): number[] {
  return readdirSync(join(dataDir, "reserve")).map((n) => statSync(join(dataDir, "reserve", n)).size);
}

describe("parseByteSize", () => {
  it("reads bytes and binary multiples, and refuses anything else", () => {
    assert.equal(parseByteSize("0"), 0);
    assert.equal(parseByteSize("4096"), 4096);
    assert.equal(parseByteSize("64M"), 64 * 1024 * 1024);
    assert.equal(parseByteSize("64MiB"), 64 * 1024 * 1024);
    assert.equal(parseByteSize("512k"), 512 * 1024);
    assert.equal(parseByteSize("1G"), 1024 ** 3);
    for (const bad of ["", "-1", "1.5M", "64 megs", "M"]) assert.throws(() => parseByteSize(bad), /not a size/, bad);
  });
});

describe("isDiskFullError", () => {
  it("knows the ways a full disk shows itself", () => {
    for (const code of ["ENOSPC", "EDQUOT", "SQLITE_FULL", "SQLITE_IOERR_SHMSIZE"]) assert.ok(isDiskFullError(Object.assign(new Error(code), { code })), code);
    assert.ok(isDiskFullError(new DiskFullError()));
    for (const code of ["EACCES", "SQLITE_BUSY", "SQLITE_CONSTRAINT"]) assert.ok(!isDiskFullError(Object.assign(new Error(code), { code })), code);
    assert.ok(!isDiskFullError(undefined));
  });
});

describe("DiskSpace", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-space-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps a reserve, releases it a piece at a time, refuses and stops writes while full, and recovers", async () => {
    const reserveBytes = RESERVE_PIECES * 64 * KiB;
    const space = DiskSpace.open({ dataDir: dir, reserveBytes, log: silentLogger });
    await space.start();
    try {
      assert.deepEqual(pieces(dir), Array(RESERVE_PIECES).fill(64 * KiB), "the reserve is made at start");
      assert.equal(space.isFull(), false);
      const blobs = space.guard(await FileBlobStore.open(dir));

      const inFlight = blobs.create();
      inFlight.stream.write(Buffer.alloc(1000));
      // A write failing for want of space starts the disk-full state and releases one piece.
      space.noteError(Object.assign(new Error("no space"), { code: "ENOSPC" }));
      assert.equal(space.isFull(), true);
      assert.equal(pieces(dir).length, RESERVE_PIECES - 1);
      await assert.rejects(inFlight.commit(), DiskFullError, "a blob write in flight is stopped");
      assert.deepEqual(readdirSync(join(dir, "tmp")), [], "and its temporary file removed");
      assert.throws(() => blobs.create(), DiskFullError);
      assert.throws(() => space.refuseWrites(), DiskFullError);

      // Each further commit that finds no room gets one more piece, until none is left.
      for (let left = RESERVE_PIECES - 2; left >= 0; left--) {
        assert.equal(space.releaseForCommit(), true);
        assert.equal(pieces(dir).length, left);
      }
      assert.equal(space.releaseForCommit(), false, "nothing left to free");

      // This disk has plenty of room: the next measurement re-creates the reserve and leaves the state.
      await space.check();
      assert.equal(space.isFull(), false);
      assert.deepEqual(pieces(dir), Array(RESERVE_PIECES).fill(64 * KiB));
      space.refuseWrites();
      const writer = blobs.create();
      writer.stream.write(Buffer.from("accepted again"));
      assert.match(await writer.commit(), /^[0-9a-f]{32}$/);
    } finally {
      await space.close();
    }
  });

  it("replaces pieces of another size when the setting changed, and keeps none with a reserve of 0", async () => {
    const space = DiskSpace.open({ dataDir: dir, reserveBytes: RESERVE_PIECES * 32 * KiB, log: silentLogger });
    await space.start();
    await space.close();
    assert.deepEqual(pieces(dir), Array(RESERVE_PIECES).fill(32 * KiB));
    const none = DiskSpace.open({ dataDir: dir, reserveBytes: 0, log: silentLogger });
    await none.start();
    await none.close();
    assert.equal(existsSync(join(dir, "reserve")), false, "what an earlier setting kept is given back");
    assert.throws(() => DiskSpace.open({ dataDir: dir, reserveBytes: -1, log: silentLogger }), /whole number of bytes/);
  });
});

describe("group commit on a full disk", () => {
  let dir: string;
  let store: SqliteMetadataStore;
  let db: Database.Database;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-full-commit-"));
    store = SqliteMetadataStore.open(dir);
    // The test reaches into the store for its connection: max_page_count makes SQLite answer
    // SQLITE_FULL exactly as a full disk does, without filling one.
    db = (store as unknown as { db: Database.Database }).db;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const capAtCurrentSize = () => db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`);

  it("fails a batch SQLite rolled back whole as one, with nothing committed outside it", async () => {
    await store.putBucketConfig("b", "test", "small", "{}");
    capAtCurrentSize();
    store.onDiskFull = () => false;
    // SQLite answers this SQLITE_FULL by rolling back the whole transaction: the write queued
    // after it must not then commit on its own while its caller is told it failed.
    const outcomes = await Promise.allSettled([
      store.putBucketConfig("b", "test", "big", "x".repeat(64 * KiB)),
      store.putBucketConfig("b", "test", "small", "[]"),
    ]);
    for (const o of outcomes) {
      assert.equal(o.status, "rejected");
      assert.ok(isDiskFullError((o as PromiseRejectedResult).reason), String((o as PromiseRejectedResult).reason));
    }
    assert.equal(await store.getBucketConfig("b", "test", "small"), "{}");
    assert.equal(await store.getBucketConfig("b", "test", "big"), undefined);
  });

  it("tries a write that found the disk full once more after space was freed", async () => {
    capAtCurrentSize();
    let asked = 0;
    store.onDiskFull = () => {
      asked++;
      db.pragma("max_page_count = 1073741823");
      return true;
    };
    await Promise.all([store.putBucketConfig("b", "test", "big", "y".repeat(64 * KiB)), store.putBucketConfig("b", "test", "small", "()")]);
    assert.equal(asked, 1);
    assert.equal((await store.getBucketConfig("b", "test", "big"))?.length, 64 * KiB);
    assert.equal(await store.getBucketConfig("b", "test", "small"), "()");
  });

  it("tries it once only: a second failure is the caller's", async () => {
    capAtCurrentSize();
    let asked = 0;
    store.onDiskFull = () => {
      asked++;
      return true;
    };
    await assert.rejects(store.putBucketConfig("b", "test", "bigger", "z".repeat(128 * KiB)), (err: unknown) => isDiskFullError(err));
    assert.equal(asked, 1);
    store.onDiskFull = undefined;
  });
});
