// The write stage's worker thread: a report split across two threads (two key ranges, two scans of
// one snapshot) must hold exactly the rows, in the order, that one thread writes.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { gunzipSync } from "node:zlib";
import { FileBlobStore } from "../storage/file-blobs.js";
import { SqliteMetadataStore, splitKeyRange } from "../storage/sqlite-metadata.js";
import type { ObjectVersionRecord } from "../storage/types.js";
import type { WorkerMessage, WriteJob } from "./write-worker.js";

function entry(): URL {
  const source = new URL("./write-worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  return new URL("data:text/javascript," + encodeURIComponent(`import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(source)});`));
}

const SNAPSHOT_AT = Date.UTC(2026, 0, 1);

function runWorker(job: WriteJob): Promise<Omit<Extract<WorkerMessage, { type: "done" }>, "type"> & { progress: number }> {
  const worker = new Worker(entry(), { workerData: job });
  let progress = 0;
  return new Promise((resolve, reject) => {
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "progress") progress = Math.max(progress, m.rows);
      else if (m.type === "done") resolve({ files: m.files, summary: m.summary, progress });
      else reject(new Error(m.message));
    });
    worker.on("error", reject);
  });
}

describe("inventory write worker", () => {
  let dir: string;
  let blobs: FileBlobStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-write-worker-"));
    const store = SqliteMetadataStore.open(dir);
    await store.createBucket({ name: "w", id: "w", ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(), versioning: "Enabled" });
    const records: Omit<ObjectVersionRecord, "isLatest">[] = [];
    for (let i = 0; i < 3000; i++) {
      const key = `${["a", "b", "c"][i % 3]}/${String((i * 7919) % 3000).padStart(5, "0")} x`;
      for (let v = 0; v < 1 + (i % 4 === 0 ? 2 : 0); v++) {
        records.push({
          bucket: "w", key, versionId: `v${i}-${v}`, isDeleteMarker: false, size: i, etag: `"e${i}"`, lastModified: new Date(1_700_000_000_000 + i),
          storageClass: "STANDARD", contentHeaders: {}, userMetadata: {}, ownerAccountId: "111122223333", partsCount: 0, extra: {}, body: null,
        });
      }
    }
    await store.putVersions({ name: "w", id: "w" }, records);
    await store.close();
    blobs = await FileBlobStore.open(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const read = async (files: { blobId: string }[]): Promise<string> => {
    let text = "";
    for (const f of files) {
      const chunks: Buffer[] = [];
      for await (const c of blobs.read(f.blobId)) chunks.push(c as Buffer);
      text += gunzipSync(Buffer.concat(chunks)).toString();
    }
    return text;
  };

  it("cuts the key range into parts of about the same size", () => {
    const [cut] = splitKeyRange(dir, "w", "", false, 2, 10);
    assert.ok(cut !== undefined && cut.startsWith("b/"), cut);
    assert.deepEqual(splitKeyRange(dir, "w", "", false, 2, 1_000_000), [], "too few rows to split");
    assert.deepEqual(splitKeyRange(dir, "w", "zzz", false, 2, 1), [], "nothing under the prefix");
  });

  it("falls back to one thread when every attempt at a common snapshot sees a commit", async () => {
    // The helper commits each time it opens its scan (a real commit by another connection), so
    // the two scans never read one snapshot: after its attempts the leader writes alone.
    const job: WriteJob = { dataDir: dir, bucket: "w", prefix: "", currentOnly: false, columns: ["Bucket", "Key", "VersionId", "Size", "ETag"], format: "CSV", maxFileBytes: 1 << 30, snapshotAt: SNAPSHOT_AT };
    const one = await runWorker({ ...job, parallelMinRows: Number.MAX_SAFE_INTEGER });
    const fallback = await runWorker({ ...job, parallelMinRows: 10, commitWhileOpeningForTests: true });
    assert.equal(fallback.files.length, 1, "one thread, one data file");
    assert.equal(await read(fallback.files), await read(one.files));
    const store = SqliteMetadataStore.open(dir);
    try {
      assert.ok((await store.getSetting("write-worker.test-commit")) !== undefined, "the helper did commit while the scans were opened");
    } finally {
      await store.close();
    }
  });

  for (const currentOnly of [false, true]) {
    it(`writes the same report on two threads as on one (${currentOnly ? "current" : "all"} versions)`, async () => {
      const job: WriteJob = { dataDir: dir, bucket: "w", prefix: "", currentOnly, columns: ["Bucket", "Key", "VersionId", "Size", "ETag"], format: "CSV", maxFileBytes: 1 << 30, snapshotAt: SNAPSHOT_AT };
      const one = await runWorker({ ...job, parallelMinRows: Number.MAX_SAFE_INTEGER });
      const two = await runWorker({ ...job, parallelMinRows: 10 });
      assert.equal(one.files.length, 1);
      assert.equal(two.files.length, 2, "one data file per thread");
      const expected = await read(one.files);
      assert.equal(await read(two.files), expected);
      assert.equal(two.files.reduce((n, f) => n + f.rows, 0), expected.split("\n").length - 1);
      const prefixed = await runWorker({ ...job, prefix: "b/", parallelMinRows: 10 });
      assert.equal(await read(prefixed.files), expected.split("\n").filter((l) => l.includes('"b/')).map((l) => l + "\n").join(""));

      // The two threads' partial summaries merge into the one thread's summary, capped prefixes included.
      assert.deepEqual(two.summary, one.summary);
      assert.equal(one.summary.rows, expected.split("\n").length - 1);
      assert.deepEqual(one.summary.prefixes.map((p) => p.prefix), ["c/", "b/", "a/"], "by bytes: sizes grow from a/ to c/");
      for (const bound of [1, 2]) {
        const capped = await runWorker({ ...job, parallelMinRows: Number.MAX_SAFE_INTEGER, summaryPrefixBound: bound });
        const split = await runWorker({ ...job, parallelMinRows: 10, summaryPrefixBound: bound });
        assert.equal(split.files.length, 2);
        assert.deepEqual(split.summary, capped.summary, `bound ${bound}`);
        assert.deepEqual(capped.summary.prefixes, one.summary.prefixes.slice(0, bound));
        const folded = one.summary.prefixes.slice(bound);
        assert.deepEqual(capped.summary.otherPrefixes, { count: folded.reduce((n, p) => n + p.count, 0), bytes: folded.reduce((n, p) => n + p.bytes, 0) });
      }
    });
  }
});
