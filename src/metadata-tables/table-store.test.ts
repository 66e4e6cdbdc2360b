// The table store against a real server: tables created, appended to and committed as objects of
// a Stocktake bucket, then read back by readers nobody here wrote: icebird (npm) over HTTP through
// GetObject, pyarrow and DuckDB on the Parquet data files, fastavro on the manifest list and
// manifests. The Python readers skip when python3 cannot import them.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { icebergRead } from "icebird";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../../test/helpers/server.js";
import { NodeSha256 } from "../../test/helpers/raw.js";
import { readAvroContainer } from "./avro.js";
import { JOURNAL_SCHEMA } from "./schemas.js";
import type { IcebergRow } from "./parquet-table.js";
import { currentSnapshot, type ManifestEntryRecord, type TableMetadata } from "./iceberg-metadata.js";
import { appendRows, commit, createTable, keyOfUri, loadTable, manifestsOf, readTableFile, TABLE_FILE_MARK, type TableLocation } from "./table-store.js";

const BUCKET = `aws-s3-${TEST_ACCOUNT_ID}`;
const JOURNAL: TableLocation = { bucket: BUCKET, prefix: "b_photos/journal/" };

function importable(module: string): boolean {
  return spawnSync("python3", ["-c", `import ${module}`]).status === 0;
}
const noPyarrow = importable("pyarrow") ? false : "python3 cannot import pyarrow (python3 -m pip install pyarrow)";
const noDuckdb = importable("duckdb") ? false : "python3 cannot import duckdb (python3 -m pip install duckdb)";
const noFastavro = importable("fastavro") ? false : "python3 cannot import fastavro (python3 -m pip install fastavro)";

function python(script: string, ...args: string[]): string {
  const res = spawnSync("python3", ["-c", script, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`python3 failed: ${res.stderr}`);
  return res.stdout;
}

/** A journal row; `commit` and `i` make keys, sizes and times unique and predictable. */
function journalRow(commitNo: number, i: number): IcebergRow {
  const micros = BigInt(Date.UTC(2025, 5, 2, 1, commitNo, i)) * 1000n + 123n;
  return {
    bucket: "photos",
    key: `img/${commitNo}/${i}.jpg`,
    sequence_number: `${String(commitNo).padStart(4, "0")}${String(i).padStart(6, "0")}`,
    record_type: i % 3 === 2 ? "DELETE" : "CREATE",
    record_timestamp: micros,
    version_id: i % 2 === 0 ? null : `v${commitNo}-${i}`,
    is_delete_marker: i % 3 === 2 ? true : false,
    size: i % 3 === 2 ? 0 : 1000 * commitNo + i,
    last_modified_date: micros,
    e_tag: `etag-${commitNo}-${i}`,
    storage_class: "STANDARD",
    is_multipart: false,
    encryption_status: "SSE-S3",
    is_bucket_key_enabled: false,
    kms_key_arn: null,
    checksum_algorithm: "CRC64NVME",
    object_tags: i % 2 === 0 ? {} : { team: `t${i}` },
    user_metadata: {},
    requester: TEST_ACCOUNT_ID,
    source_ip_address: "127.0.0.1",
    request_id: `REQ${commitNo}${i}`,
  };
}

const COMMITS = [5, 1, 7].map((n, c) => Array.from({ length: n }, (_, i) => journalRow(c + 1, i)));

let server: TestServer;

before(async () => {
  server = await startTestServer();
  await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

after(async () => {
  await server?.stop();
});

async function getObject(key: string): Promise<Buffer> {
  const res = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/**
 * Runs `fn` with a global fetch that sends icebird's https://<bucket>.s3.amazonaws.com/<key>
 * requests to the test server, path-style and SigV4-signed. icebird 0.3 has no resolver option:
 * it turns every s3:// URI into that virtual-hosted URL and calls the global fetch.
 */
async function withServerFetch<T>(fn: (requested: string[]) => Promise<T>): Promise<T> {
  const original = globalThis.fetch;
  const target = new URL(server.url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
    region: "us-east-1",
    service: "s3",
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const requested: string[] = [];
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const host = /^(.+)\.s3\.amazonaws\.com$/.exec(url.hostname);
    if (!host) throw new Error(`icebird asked for ${url.href}, which is not an S3 URL`);
    const path = `/${host[1]}${url.pathname}`;
    requested.push(path);
    const headers: Record<string, string> = { ...Object.fromEntries(new Headers(init?.headers).entries()), host: target.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" };
    const signed = await signer.sign({ method: init?.method ?? "GET", protocol: "http:", hostname: target.hostname, port: Number(target.port), path, query: {}, headers });
    const { host: _host, ...sendable } = signed.headers as Record<string, string>;
    return original(`${server.url}${path}`, { ...init, headers: sendable });
  };
  try {
    return await fn(requested);
  } finally {
    globalThis.fetch = original;
  }
}

/** The rows as icebird's reader hands them back: timestamps as Dates (milliseconds), maps as objects. */
function asRead(row: IcebergRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === "bigint" ? new Date(Number(v / 1000n)) : v;
  return out;
}

/** Comparable form: Dates to ISO strings, bigints to numbers, undefined to null, keys sorted. */
function normal(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort()) {
    const v = row[k];
    out[k] = v instanceof Date ? v.toISOString() : typeof v === "bigint" ? Number(v) : v === undefined ? null : v;
  }
  return out;
}

describe("an Iceberg table kept in a Stocktake bucket", () => {
  let created: TableMetadata;

  it("creates v1.metadata.json and version-hint.text as objects of the bucket, owned by its owner", async () => {
    const table = await createTable(server.context, JOURNAL, JOURNAL_SCHEMA);
    created = table.metadata;
    assert.equal(table.version, 1);
    assert.equal(table.uri, `s3://${BUCKET}/b_photos/journal`);
    assert.equal(table.metadataUri, `s3://${BUCKET}/b_photos/journal/metadata/v1.metadata.json`);
    const served = JSON.parse((await getObject("b_photos/journal/metadata/v1.metadata.json")).toString("utf8")) as TableMetadata;
    assert.deepEqual(served, table.metadata);
    assert.equal(served["format-version"], 2);
    assert.equal(served.location, table.uri);
    assert.equal(served["current-snapshot-id"], -1);
    assert.equal((await getObject("b_photos/journal/metadata/version-hint.text")).toString("utf8"), "1");
    const stored = await server.context.metadata.getLatest(BUCKET, "b_photos/journal/metadata/v1.metadata.json");
    assert.equal(stored?.ownerAccountId, TEST_ACCOUNT_ID);
    assert.equal(stored?.contentType, "application/json");
    assert.equal(stored?.extra[TABLE_FILE_MARK], true, "the journal must be able to tell the engine's own writes");
    // The server's default encryption applies, as it does to any PUT without SSE headers.
    assert.deepEqual(stored?.extra.encryption, { kind: "SSE-S3" });
  });

  it("is created once: createTable on an existing table returns that table", async () => {
    const again = await createTable(server.context, JOURNAL, JOURNAL_SCHEMA);
    assert.equal(again.version, 1);
    assert.equal(again.metadata["table-uuid"], created["table-uuid"]);
  });

  it("appends rows in three commits: a snapshot chain, and a manifest list carrying every manifest", async () => {
    const results = [];
    for (const rows of COMMITS) results.push((await appendRows(server.context, JOURNAL, rows))!);
    assert.deepEqual(results.map((r) => r.version), [2, 3, 4]);
    assert.deepEqual(results.map((r) => r.attempts), [1, 1, 1]);

    const table = (await loadTable(server.context, JOURNAL))!;
    assert.equal(table.version, 4);
    assert.equal((await getObject("b_photos/journal/metadata/version-hint.text")).toString("utf8"), "4");
    const m = table.metadata;
    assert.equal(m["last-sequence-number"], 3);
    assert.deepEqual(m.snapshots.map((s) => s["snapshot-id"]), results.map((r) => r.snapshotId));
    assert.deepEqual(m.snapshots.map((s) => s["sequence-number"]), [1, 2, 3]);
    assert.deepEqual(m.snapshots.map((s) => s["parent-snapshot-id"]), [undefined, results[0]!.snapshotId, results[1]!.snapshotId]);
    assert.equal(m["current-snapshot-id"], results[2]!.snapshotId);
    assert.deepEqual(m.refs.main, { "snapshot-id": results[2]!.snapshotId, type: "branch" });
    assert.deepEqual(m["metadata-log"].map((e) => e["metadata-file"]), [1, 2, 3].map((v) => `${table.uri}/metadata/v${v}.metadata.json`));
    const summary = currentSnapshot(m)!.summary;
    assert.equal(summary.operation, "append");
    assert.equal(summary["total-records"], "13");
    assert.equal(summary["total-data-files"], "3");
    assert.equal(summary["added-records"], "7");

    const manifests = await manifestsOf(server.context, JOURNAL, m);
    assert.equal(manifests.length, 3);
    // Newest first; each manifest keeps the sequence number and snapshot of the commit that added it.
    assert.deepEqual(manifests.map((r) => r.sequence_number), [3, 2, 1]);
    assert.deepEqual(manifests.map((r) => r.added_snapshot_id), results.map((r) => r.snapshotId).reverse());
    assert.deepEqual(manifests.map((r) => r.added_rows_count), [7, 1, 5]);
    // The list GetObject serves is the same file, with Avro codec null.
    const list = readAvroContainer(await getObject(keyOfUri(JOURNAL, currentSnapshot(m)!["manifest-list"])));
    assert.equal(list.metadata["avro.codec"], "null");
    assert.equal(list.metadata["sequence-number"], "3");
    assert.deepEqual(list.records, manifests);
    for (const [i, r] of manifests.entries()) {
      const manifest = readAvroContainer((await readTableFile(server.context, JOURNAL, r.manifest_path))!);
      const entries = manifest.records as ManifestEntryRecord[];
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.status, 1);
      assert.equal(entries[0]!.sequence_number, null, "an added file inherits its sequence number");
      assert.equal(entries[0]!.data_file.file_path, results[2 - i]!.dataFile);
      assert.equal(r.manifest_length, (await readTableFile(server.context, JOURNAL, r.manifest_path))!.length);
    }
  });

  it("reads back through icebird over HTTP (GetObject) with the rows that were appended", async () => {
    const rows = await withServerFetch(async (requested) => {
      const read = await icebergRead({ tableUrl: `s3://${BUCKET}/b_photos/journal` });
      assert.ok(requested.includes(`/${BUCKET}/b_photos/journal/metadata/version-hint.text`));
      assert.ok(requested.includes(`/${BUCKET}/b_photos/journal/metadata/v4.metadata.json`));
      return read;
    });
    const expected = COMMITS.flat().map((r) => normal(asRead(r)));
    const key = (r: Record<string, unknown>) => String(r.sequence_number);
    const got = rows.map((r) => normal(r)).sort((a, b) => key(a).localeCompare(key(b)));
    assert.equal(got.length, 13);
    assert.deepEqual(got, expected.sort((a, b) => key(a).localeCompare(key(b))));
  });

  describe("the Parquet data files, read by pyarrow and DuckDB", () => {
    let dir: string;
    let files: string[];
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "table-store-"));
      const table = (await loadTable(server.context, JOURNAL))!;
      files = [];
      for (const s of table.metadata.snapshots) {
        const path = join(dir, `${s["sequence-number"]}.parquet`);
        const m = await manifestsOf(server.context, JOURNAL, { ...table.metadata, "current-snapshot-id": s["snapshot-id"] });
        const manifest = readAvroContainer((await readTableFile(server.context, JOURNAL, m[0]!.manifest_path))!);
        const entry = (manifest.records as ManifestEntryRecord[])[0]!;
        writeFileSync(path, await getObject(keyOfUri(JOURNAL, entry.data_file.file_path)));
        files.push(path);
      }
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("pyarrow reads every row and the Iceberg field ids", { skip: noPyarrow }, () => {
      const script = `
import json, sys, pyarrow.parquet as pq
out = []
for p in json.loads(sys.argv[1]):
    t = pq.read_table(p)
    out.append({"rows": t.num_rows, "keys": t.column("key").to_pylist(),
                "ids": [f.metadata[b"PARQUET:field_id"].decode() for f in t.schema][:3]})
print(json.dumps(out))`;
      const view = JSON.parse(python(script, JSON.stringify(files))) as { rows: number; keys: string[]; ids: string[] }[];
      assert.deepEqual(view.map((v) => v.rows), [5, 1, 7]);
      assert.deepEqual(view.map((v) => v.keys), COMMITS.map((rows) => rows.map((r) => r.key)));
      assert.deepEqual(view[0]!.ids, ["1", "2", "3"]);
    });

    it("DuckDB reads the files as one table", { skip: noDuckdb }, () => {
      const script = `
import json, sys, duckdb
r = duckdb.sql("select count(*), sum(size), count(distinct key) from read_parquet(" + json.dumps(json.loads(sys.argv[1])).replace('"', "'") + ")").fetchone()
print(json.dumps([int(x) for x in r]))`;
      const [count, size, keys] = JSON.parse(python(script, JSON.stringify(files))) as number[];
      const rows = COMMITS.flat();
      assert.equal(count, rows.length);
      assert.equal(keys, rows.length);
      assert.equal(size, rows.reduce((s, r) => s + Number(r.size), 0));
    });
  });

  it("fastavro reads the manifest list and the manifests it names", { skip: noFastavro }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "table-store-avro-"));
    try {
      const table = (await loadTable(server.context, JOURNAL))!;
      const listUri = currentSnapshot(table.metadata)!["manifest-list"];
      const files: Record<string, string> = {};
      const save = async (uri: string) => {
        const path = join(dir, uri.slice(uri.lastIndexOf("/") + 1));
        writeFileSync(path, await getObject(keyOfUri(JOURNAL, uri)));
        files[uri] = path;
      };
      await save(listUri);
      for (const m of await manifestsOf(server.context, JOURNAL, table.metadata)) await save(m.manifest_path);
      const script = `
import json, sys, fastavro
files = json.loads(sys.argv[2])
with open(files[sys.argv[1]], "rb") as f:
    r = fastavro.reader(f)
    lst = list(r)
    codec = r.codec
out = {"codec": codec, "manifests": []}
for m in lst:
    with open(files[m["manifest_path"]], "rb") as f:
        rr = fastavro.reader(f)
        entries = [{"status": e["status"], "path": e["data_file"]["file_path"], "records": e["data_file"]["record_count"]} for e in rr]
        out["manifests"].append({"seq": m["sequence_number"], "added": m["added_files_count"], "entries": entries, "content": rr.metadata["content"]})
print(json.dumps(out))`;
      const view = JSON.parse(python(script, listUri, JSON.stringify(files))) as {
        codec: string;
        manifests: { seq: number; added: number; content: string; entries: { status: number; path: string; records: number }[] }[];
      };
      assert.equal(view.codec, "null");
      assert.deepEqual(view.manifests.map((m) => m.seq), [3, 2, 1]);
      assert.deepEqual(view.manifests.map((m) => m.entries.map((e) => e.records)), [[7], [1], [5]]);
      assert.ok(view.manifests.every((m) => m.added === 1 && m.content === "data" && m.entries[0]!.status === 1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loads past a version hint that lags behind the newest metadata", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_lagging/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    await appendRows(server.context, location, [journalRow(1, 0)]);
    await appendRows(server.context, location, [journalRow(2, 0)]);
    // As if the writer of v3 had stopped before moving the hint.
    await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "b_lagging/journal/metadata/version-hint.text", Body: "1" }));
    const table = (await loadTable(server.context, location))!;
    assert.equal(table.version, 3);
    const next = (await appendRows(server.context, location, [journalRow(3, 0)]))!;
    assert.equal(next.version, 4);
    assert.equal((await getObject("b_lagging/journal/metadata/version-hint.text")).toString("utf8"), "4");
  });

  it("commits nothing for an empty append, and finds no table where none was created", async () => {
    assert.equal(await appendRows(server.context, JOURNAL, []), undefined);
    assert.equal((await loadTable(server.context, JOURNAL))!.version, 4);
    assert.equal(await loadTable(server.context, { bucket: BUCKET, prefix: "b_nothing/journal/" }), undefined);
    await assert.rejects(appendRows(server.context, { bucket: BUCKET, prefix: "b_nothing/journal/" }, [journalRow(1, 0)]), /no Iceberg table/);
  });
});

describe("commits racing on one table", () => {
  it("a commit prepared on a stale base loses the create-once write, reloads and commits on the winner", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_race/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    // Both prepare on v1 before either writes v2.
    let arrived = 0;
    let release!: () => void;
    const bothPrepared = new Promise<void>((r) => (release = r));
    const bases: number[][] = [[], []];
    const racer = (n: number) =>
      commit(server.context, location, async (base, attempt) => {
        bases[n]!.push(base.version);
        if (attempt === 1 && ++arrived === 2) release();
        if (attempt === 1) await bothPrepared;
        return { metadata: { ...base.metadata, properties: { ...base.metadata.properties, [`racer-${n}`]: String(attempt) } } };
      });
    const [a, b] = await Promise.all([racer(0), racer(1)]);
    assert.deepEqual([a.attempts, b.attempts].sort(), [1, 2]);
    assert.deepEqual([a.version, b.version].sort(), [2, 3]);
    const loser = a.attempts === 2 ? 0 : 1;
    assert.deepEqual(bases[loser], [1, 2], "the loser prepared again on the winner's version");
    const final = (await loadTable(server.context, location))!;
    assert.equal(final.version, 3);
    assert.equal(final.metadata.properties["racer-0"] !== undefined && final.metadata.properties["racer-1"] !== undefined, true, "neither commit was lost");
  });

  it("takes a store error after which the new metadata file exists for a lost race, and commits again", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_store_error/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    const real = server.context.metadata;
    let injected = false;
    // As PostgreSQL reports two creates of a key that has no version yet: the other writer's
    // v2 commits, this one's write fails with a unique violation instead of the condition.
    const metadata = new Proxy(real, {
      get(target, name) {
        if (name === "putVersion") {
          return async (...args: Parameters<typeof real.putVersion>) => {
            if (!injected && args[1].key.endsWith("/metadata/v2.metadata.json")) {
              injected = true;
              await commit(server.context, location, async (base) => ({ metadata: { ...base.metadata, properties: { ...base.metadata.properties, other: "1" } } }));
              throw Object.assign(new Error('duplicate key value violates unique constraint "versions_bucket_key_version_id_key"'), { code: "23505" });
            }
            return target.putVersion(...args);
          };
        }
        const value = Reflect.get(target, name) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const mine = await commit({ ...server.context, metadata }, location, async (base) => ({
      metadata: { ...base.metadata, properties: { ...base.metadata.properties, mine: String(base.version) } },
    }));
    assert.equal(mine.attempts, 2);
    assert.equal(mine.version, 3);
    const final = (await loadTable(server.context, location))!;
    assert.deepEqual([final.metadata.properties.other, final.metadata.properties.mine], ["1", "2"]);
  });

  it("appends racing on one table all land: sequence numbers 1..N and every row", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_busy/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    const writers = 5;
    const batches = Array.from({ length: writers }, (_, w) => Array.from({ length: w + 2 }, (_, i) => journalRow(w + 10, i)));
    const results = await Promise.all(batches.map((rows) => appendRows(server.context, location, rows)));
    assert.ok(results.some((r) => r!.attempts > 1), "the appends raced (some had to retry)");
    const table = (await loadTable(server.context, location))!;
    assert.equal(table.version, writers + 1);
    assert.deepEqual(table.metadata.snapshots.map((s) => s["sequence-number"]), [1, 2, 3, 4, 5]);
    assert.deepEqual(new Set(table.metadata.snapshots.map((s) => s["snapshot-id"])), new Set(results.map((r) => r!.snapshotId)));
    const manifests = await manifestsOf(server.context, location, table.metadata);
    assert.deepEqual(manifests.map((m) => m.sequence_number), [5, 4, 3, 2, 1]);
    // The losing attempts' manifest lists were removed: one list per snapshot is left.
    const listed = await server.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "b_busy/journal/metadata/snap-" }));
    assert.equal(listed.KeyCount, writers);
    const rows = await withServerFetch(() => icebergRead({ tableUrl: `s3://${BUCKET}/b_busy/journal` }));
    const expected = batches.flat().map((r) => String(r.sequence_number)).sort();
    assert.deepEqual(rows.map((r) => String(r.sequence_number)).sort(), expected);
  });
});
