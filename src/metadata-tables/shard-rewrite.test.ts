// A shard's rewrite in the live inventory table's upkeep: insertSorted places fresh rows exactly
// where a sort of the whole shard would (by key in UTF-8 byte order, then newest first), and
// rewriteShard, in this thread or in the shard thread, gives the shard's rows after a batch; a
// backfill's shard is written in the thread as its pages come (ShardWriter, GatheredShard).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { insertSorted, mergeFiles, rewriteShard, ShardWriter, type FilesMerge, type ShardRewrite } from "./shard-rewrite.js";
import { GatheredShard, mergeFilesApart, rewriteShardApart, shardThread } from "./shard-worker.js";
import { readParquetRows } from "./data-files.js";
import { writeIcebergParquet, type IcebergRow, type IcebergSchema } from "./parquet-table.js";
import { compareUtf8 } from "../utf8.js";

function row(key: string, lastModified: number, versionId: string): IcebergRow {
  return { key, last_modified_date: BigInt(lastModified), version_id: versionId };
}

const order = (a: IcebergRow, b: IcebergRow) =>
  compareUtf8(a.key as string, b.key as string) ||
  Number(b.last_modified_date) - Number(a.last_modified_date) ||
  compareUtf8(b.version_id as string, a.version_id as string);

const label = (r: IcebergRow) => `${r.key as string}@${String(r.last_modified_date)}/${r.version_id as string}`;

describe("insertSorted", () => {
  it("gives the order a full sort gives, for random shards and changes", () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // Keys with shared prefixes, one beyond U+FFFF, and versions at equal times.
    const keys = ["a", "a/b", "a/c", "b", "é", "\u{1F600}", "\uFFFD", "z"];
    for (let round = 0; round < 200; round++) {
      const all = Array.from({ length: random(40) }, (_, i) => row(keys[random(keys.length)]!, random(5), `v${i}`));
      const fresh = Array.from({ length: random(6) }, (_, i) => row(keys[random(keys.length)]!, random(5), `f${i}`));
      const shard = [...all].sort(order);
      const expected = [...shard, ...fresh].sort(order).map(label);
      assert.deepEqual(insertSorted(shard, [...fresh]).map(label), expected, `round ${round}`);
    }
  });

  it("returns the shard's rows when nothing is fresh, and the fresh rows sorted into an empty shard", () => {
    const shard = [row("a", 2, "x"), row("b", 1, "y")];
    assert.deepEqual(insertSorted(shard, []).map(label), shard.map(label));
    assert.deepEqual(insertSorted([], [row("b", 1, "y"), row("a", 1, "x"), row("a", 3, "z")]).map(label), ["a@3/z", "a@1/x", "b@1/y"]);
  });
});

// A schema of the three columns the order reads, plus one to carry a value through.
const SCHEMA: IcebergSchema = {
  type: "struct",
  "schema-id": 0,
  fields: [
    { id: 1, name: "key", required: true, type: "string" },
    { id: 2, name: "last_modified_date", required: false, type: "timestamptz" },
    { id: 3, name: "version_id", required: false, type: "string" },
    { id: 4, name: "size", required: false, type: "long" },
  ],
};

function sized(key: string, lastModified: number, versionId: string, size: number): IcebergRow {
  return { key, last_modified_date: BigInt(lastModified), version_id: versionId, size: BigInt(size) };
}

const view = (r: IcebergRow) => `${r.key as string}@${String(r.last_modified_date)}/${r.version_id as string}=${String(r.size)}`;

async function shardOf(rows: IcebergRow[]): Promise<ShardRewrite["file"]> {
  const { bytes, metrics } = await writeIcebergParquet(SCHEMA, rows);
  return { bytes, uri: "s3://t/data/shard.parquet", recordCount: metrics.recordCount };
}

describe("rewriteShard", () => {
  const rows = [sized("a", 3, "a2", 10), sized("a", 1, "a1", 11), sized("b", 5, "b1", 12), sized("c", 2, "c1", 13)];
  const job = async (): Promise<ShardRewrite> => ({
    file: await shardOf(rows),
    // a1 deleted for good, b1 given a new size, d1 new; a2 and c1 untouched.
    changed: { a: ["a1"], b: ["b1"], d: ["d1"] },
    fresh: [sized("d", 4, "d1", 15), sized("b", 5, "b1", 99)],
    shardRows: 100,
    schema: SCHEMA,
    columnBoundLengths: new Map([[1, Infinity]]),
  });
  const expected = ["a@3/a2=10", "b@5/b1=99", "c@2/c1=13", "d@4/d1=15"];

  it("takes the changed versions out, puts their new states in order, and encodes one file", async () => {
    const files = await rewriteShard(await job());
    assert.equal(files.length, 1);
    assert.deepEqual((await readParquetRows(files[0]!.bytes, SCHEMA)).map(view), expected);
    assert.equal(files[0]!.metrics.recordCount, 4);
  });

  it("does the same in the shard thread, one shard at a time, with the key bounds back as Buffers for the manifest", async () => {
    const [files, again] = await Promise.all([rewriteShardApart(await job()), rewriteShardApart(await job())]);
    assert.deepEqual((await readParquetRows(again![0]!.bytes, SCHEMA)).map(view), expected);
    assert.deepEqual((await readParquetRows(files[0]!.bytes, SCHEMA)).map(view), expected);
    const lower = files[0]!.metrics.lowerBounds.get(1)!;
    assert.ok(Buffer.isBuffer(lower));
    assert.equal(lower.toString("utf8"), "a");
    assert.equal(files[0]!.metrics.upperBounds.get(1)!.toString("utf8"), "d");
  });

  it("starts a new thread for a task that comes as an idle one ends, and the old one's end fails nothing", async () => {
    const idleMs = shardThread.idleMs;
    shardThread.idleMs = 1;
    try {
      for (let i = 0; i < 12; i++) {
        await rewriteShardApart(await job());
        // Around the moment the idle thread is told to end, and while it ends.
        await new Promise((r) => setTimeout(r, i % 4));
        const files = await rewriteShardApart(await job());
        assert.deepEqual((await readParquetRows(files[0]!.bytes, SCHEMA)).map(view), expected);
      }
    } finally {
      shardThread.idleMs = idleMs;
    }
  });

  it("refuses a shard file that holds fewer rows than its manifest entry counts, in the thread too", async () => {
    const short = await job();
    short.file = { ...short.file!, recordCount: 5 };
    await assert.rejects(rewriteShard(short), /read 4 rows, but its manifest entry counts 5/);
    await assert.rejects(rewriteShardApart({ ...short, file: { ...short.file, bytes: new Uint8Array((await shardOf(rows))!.bytes) } }), /read 4 rows/);
  });

  it("splits a shard past twice the target at key boundaries", async () => {
    const many = Array.from({ length: 9 }, (_, i) => sized(`k${i}`, 1, `v${i}`, i));
    const files = await rewriteShard({ file: await shardOf(many), changed: {}, fresh: [], shardRows: 4, schema: SCHEMA, columnBoundLengths: new Map() });
    assert.deepEqual(files.map((f) => f.metrics.recordCount), [4, 4, 1]);
  });
});

describe("mergeFiles", () => {
  const JOURNALISH: IcebergSchema = {
    type: "struct",
    "schema-id": 0,
    fields: [
      { id: 1, name: "sequence_number", required: true, type: "string" },
      { id: 2, name: "record_timestamp", required: true, type: "timestamptz" },
    ],
  };
  const rec = (seq: string, at: number): IcebergRow => ({ sequence_number: seq, record_timestamp: BigInt(at) });
  const fileOf = async (rows: IcebergRow[], uri: string) => {
    const { bytes, metrics } = await writeIcebergParquet(JOURNALISH, rows);
    return { bytes, uri, recordCount: metrics.recordCount };
  };
  const seqs = async (files: { bytes: Uint8Array }[]) => (await Promise.all(files.map((f) => readParquetRows(f.bytes, JOURNALISH)))).map((rows) => rows.map((r) => r.sequence_number));

  it("leaves out the records before the cutoff, sorts by sequence number, and cuts files of chunkRows, in the thread too", async () => {
    const job = async (): Promise<FilesMerge> => ({
      files: [await fileOf([rec("03", 30), rec("01", 10), rec("05", 50)], "s3://t/a"), await fileOf([rec("04", 40), rec("02", 20)], "s3://t/b")],
      keepFrom: 20,
      order: "sequence",
      chunkRows: 2,
      schema: JOURNALISH,
      columnBoundLengths: new Map(),
    });
    for (const merge of [mergeFiles, mergeFilesApart]) {
      const { files, dropped } = await merge(await job());
      assert.equal(dropped, 1, merge.name);
      assert.deepEqual(await seqs(files), [["02", "03"], ["04", "05"]], merge.name);
    }
  });

  it("keeps the files' own order without one, and every row without a cutoff", async () => {
    const { files, dropped } = await mergeFiles({ files: [await fileOf([rec("09", 1)], "s3://t/a"), await fileOf([rec("01", 2), rec("05", 3)], "s3://t/b")], chunkRows: 10, schema: JOURNALISH, columnBoundLengths: new Map() });
    assert.equal(dropped, 0);
    assert.deepEqual(await seqs(files), [["09", "01", "05"]]);
  });
});

describe("ShardWriter (a backfill's shard, written as its rows come)", () => {
  const format = { schema: SCHEMA, columnBoundLengths: new Map([[1, Infinity]]) };

  it("puts each key's versions in a shard's order, whatever order they came in, across pages", async () => {
    const writer = new ShardWriter(format);
    // b's versions come oldest first and across two pages.
    await writer.add([sized("a", 3, "a2", 1), sized("b", 1, "b1", 2)]);
    await writer.add([sized("b", 5, "b3", 3), sized("b", 2, "b2", 4)]);
    await writer.add([sized("c", 2, "c1", 5)]);
    assert.equal(writer.rows, 5);
    const file = await writer.finish();
    assert.deepEqual((await readParquetRows(file.bytes, SCHEMA)).map(view), ["a@3/a2=1", "b@5/b3=3", "b@2/b2=4", "b@1/b1=2", "c@2/c1=5"]);
    assert.equal(file.metrics.recordCount, 5);
  });

  it("refuses rows whose keys go backwards, which the upkeep's binary search could not find", async () => {
    const writer = new ShardWriter(format);
    await writer.add([sized("b", 1, "b1", 1)]);
    await assert.rejects(writer.add([sized("a", 1, "a1", 2), sized("c", 1, "c1", 3)]), /out of key order/);
  });
});

describe("GatheredShard (the backfill's shards, encoded in the shard thread)", () => {
  const pages = [
    [sized("a", 3, "a2", 1), sized("a", 1, "a1", 2)],
    [sized("b", 5, "b1", 3)],
    [sized("c", 2, "c1", 4), sized("d", 4, "d1", 5)],
  ];
  const format = { schema: SCHEMA, columnBoundLengths: new Map([[1, Infinity]]) };

  it("encodes the rows sent page by page as one file, in a shard's order", async () => {
    const shard = new GatheredShard(format);
    for (const page of pages) await shard.add(page);
    assert.equal(shard.rows, 5);
    const file = await shard.encode();
    assert.equal(file.metrics.recordCount, 5);
    assert.deepEqual((await readParquetRows(file.bytes, SCHEMA)).map(view), pages.flat().map(view));
    assert.equal(file.metrics.upperBounds.get(1)!.toString("utf8"), "d");
  });

  it("keeps the thread, idle between pages, until the shard is encoded or dropped", async () => {
    const idleMs = shardThread.idleMs;
    shardThread.idleMs = 1;
    try {
      const shard = new GatheredShard(format);
      for (const page of pages) {
        await shard.add(page);
        // Long past the idle time: a thread ended here would take the rows sent so far with it.
        await new Promise((r) => setTimeout(r, 30));
      }
      assert.equal((await shard.encode()).metrics.recordCount, 5);
      const dropped = new GatheredShard(format);
      await dropped.add(pages[0]!);
      await dropped.drop();
      await assert.rejects(dropped.add(pages[1]!), /already encoded or dropped/);
    } finally {
      shardThread.idleMs = idleMs;
    }
  });

  it("tells a page the thread refused at the encoding, with one page in flight", async () => {
    const shard = new GatheredShard(format);
    await shard.add([sized("b", 1, "b1", 1)]);
    await shard.add([sized("a", 1, "a1", 2)]);
    await assert.rejects(shard.encode(), /out of key order/);
  });

  it("refuses to encode a shard with no rows", async () => {
    await assert.rejects(new GatheredShard(format).encode(), /at least one row/);
  });
});
