// An Iceberg table kept in a Stocktake bucket: created, loaded, appended to, rewritten, its old
// snapshots expired. Every file is an ordinary object of the destination bucket, committed through
// commitVersions as an inventory report's files are (src/inventory/publish.ts): owned by the
// bucket's owner, encrypted as the table or the bucket asks, served by GetObject, seen by the
// bucket's replication and tiering. docs/metadata-tables.md ("What Stocktake writes, and where") describes the files.
//
// Commits: the spec's file-system tables commit by an atomic rename of v<N+1>.metadata.json, which
// an object store does not have. Here the new metadata file is written create-once (the store's
// WriteCondition, as If-None-Match: * on PutObject: decided inside the write transaction, so of
// two writers, on one node or two sharing a database, exactly one creates v<N+1>). The loser
// reloads the table and prepares its commit again on the new base.
// https://iceberg.apache.org/spec/#file-system-tables
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { Context, NewVersion } from "../core/context.js";
import type { BucketRecord, ObjectVersionRecord, StoredEncryption, WriteCondition } from "../storage/types.js";
import { openBody, openInline, receiveBody, releaseBodies, type StoredBody } from "../core/bodies.js";
import { commitVersion, commitVersions, deleteObjectOrVersion, versionIdFor } from "../core/versions.js";
import { bucketEncryption, type WriteEncryption } from "../core/encryption.js";
import { readAvroContainer, writeAvroContainer } from "./avro.js";
import { writeIcebergParquet, type DataFileMetrics, type IcebergRow, type IcebergSchema } from "./parquet-table.js";
import type { TableEncryption } from "./config.js";
import {
  addSnapshot,
  addedEntry,
  currentSchema,
  currentSnapshot,
  dataFileRecord,
  deletedEntry,
  ENTRY_STATUS,
  existingEntry,
  expireSnapshots,
  manifestEntrySchema,
  manifestFileMetadata,
  manifestFileRecord,
  manifestListMetadata,
  metadataVersionOf,
  MANIFEST_LIST_SCHEMA,
  newSnapshotId,
  newTableMetadata,
  newTableUuid,
  nextSequenceNumber,
  parentForNextSnapshot,
  tableFiles,
  UNPARTITIONED_SPEC,
  type DataFileRecord,
  type FileChanges,
  type LiveFile,
  type ManifestEntryRecord,
  type ManifestFileRecord,
  type Snapshot,
  type SnapshotOperation,
  type TableMetadata,
} from "./iceberg-metadata.js";

/** A table's place: a Stocktake bucket and the key prefix its files go under ("b_photos/journal/"). */
export interface TableLocation {
  bucket: string;
  prefix: string;
}

/**
 * Marks, in a version's `extra`, an object this module wrote. The journal must not record these
 * writes (a table in a bucket that has a journal of its own would otherwise feed itself), and the
 * version hint's number rides here so that its conditional write can compare without opening the body.
 */
export const TABLE_FILE_MARK = "metadataTableFile";
const HINT_VERSION = "metadataTableHintVersion";

/** The store refused a create-once write: the key already has a current object. */
export class AlreadyExists extends Error {}

/** A commit that still lost after every attempt (many writers on one table at once). */
export class CommitConflict extends Error {}

export interface TableOptions {
  /** As the table's configuration asks (SSE-S3 or SSE-KMS); else the bucket's default encryption. */
  encryption?: TableEncryption;
}

export interface LoadedTable {
  location: TableLocation;
  /** The table's base URI, its metadata's `location`: s3://<bucket>/<prefix without trailing slash>. */
  uri: string;
  /** N of the current v<N>.metadata.json. */
  version: number;
  metadataUri: string;
  metadata: TableMetadata;
}

// ---- URIs ----
// Metadata names every file by a full s3:// URI, as tables on S3 (and AWS's S3 Tables) do: Spark,
// pyiceberg, DuckDB and Athena resolve s3:// through their S3 file IO, and a reader that fetches
// over HTTP (icebird turns s3://<bucket>/<key> into https://<bucket>.s3.amazonaws.com/<key>) is
// pointed at Stocktake by its endpoint setting or by a fetch that maps that host. The URI never
// names a Stocktake host, so the files stay valid wherever the server is reached from.

/** s3://<bucket>/<prefix without its trailing slash>. */
export function tableUri(location: TableLocation): string {
  const prefix = location.prefix.replace(/^\/+|\/+$/g, "");
  if (prefix === "") throw new RangeError("an Iceberg table needs a non-empty key prefix");
  return `s3://${location.bucket}/${prefix}`;
}

/** The object key a file URI of this table's bucket names. */
export function keyOfUri(location: TableLocation, uri: string): string {
  const base = `s3://${location.bucket}/`;
  if (!uri.startsWith(base)) throw new Error(`Iceberg table file ${uri} is not in bucket ${location.bucket}`);
  return uri.slice(base.length);
}

// ---- objects of the destination bucket ----

async function destinationBucket(ctx: Context, location: TableLocation): Promise<BucketRecord> {
  const bucket = await ctx.metadata.getBucket(location.bucket);
  if (!bucket) throw new Error(`the bucket ${location.bucket} of Iceberg table ${location.prefix} does not exist`);
  return bucket;
}

/**
 * How the table's files are sealed: as the table's configuration says (S3 Tables encrypts with
 * SSE-S3 unless SSE-KMS is asked for), else as any PUT without SSE headers into the bucket is.
 */
async function fileEncryption(ctx: Context, bucket: BucketRecord, wanted: TableEncryption | undefined): Promise<WriteEncryption | undefined> {
  const byDefault = wanted ? undefined : await bucketEncryption(ctx, bucket.name);
  if (!wanted && !byDefault) return undefined;
  if (wanted?.sseAlgorithm === "AES256" || byDefault?.algorithm === "AES256") {
    return { stored: { kind: "SSE-S3" }, wrapping: { mode: "SSE-S3", kek: ctx.keys.masterKey } };
  }
  const keyName = wanted ? wanted.kmsKeyArn : byDefault!.kmsMasterKeyId;
  const key = keyName === undefined ? await ctx.keys.awsManagedKey(bucket.ownerAccountId) : await ctx.keys.resolve(bucket.ownerAccountId, keyName);
  const mode = byDefault?.algorithm === "aws:kms:dsse" ? "DSSE-KMS" : "SSE-KMS";
  const bucketKey = mode === "SSE-KMS" && byDefault?.bucketKeyEnabled;
  return { stored: { kind: mode, keyId: key.arn, ...(bucketKey ? { bucketKeyEnabled: true } : {}) }, wrapping: { mode, kek: key.material, kmsKeyId: key.keyId } };
}

/** Where a table's writes go, resolved once per operation. */
interface Writer {
  ctx: Context;
  location: TableLocation;
  bucket: BucketRecord;
  encryption: WriteEncryption | undefined;
}

async function writerFor(ctx: Context, location: TableLocation, options: TableOptions): Promise<Writer> {
  const bucket = await destinationBucket(ctx, location);
  return { ctx, location, bucket, encryption: await fileEncryption(ctx, bucket, options.encryption) };
}

interface FileToWrite {
  key: string;
  bytes: Buffer;
  contentType: string;
  extra?: Record<string, unknown>;
}

/** The file's bytes stored (inline or as a blob, sealed as the writer says) and its version record. */
async function prepareVersion(w: Writer, file: FileToWrite): Promise<{ record: NewVersion; stored: StoredBody }> {
  const { ctx, bucket } = w;
  const stored = await receiveBody(Readable.from([file.bytes]), { blobs: ctx.blobs, inlineMaxBytes: ctx.config.inlineObjectMaxBytes, seal: w.encryption?.wrapping });
  const extra: Record<string, unknown> = { [TABLE_FILE_MARK]: true, ...file.extra };
  if (w.encryption) extra.encryption = w.encryption.stored;
  const record: NewVersion = {
    bucket: bucket.name,
    key: file.key,
    versionId: versionIdFor(bucket),
    isDeleteMarker: false,
    size: stored.size,
    etag: `"${stored.md5.toString("hex")}"`,
    lastModified: ctx.clock.now(),
    storageClass: "STANDARD",
    contentType: file.contentType,
    contentHeaders: {},
    userMetadata: {},
    // The engine writes for the table's owner, as S3 delivers a report: the bucket owner owns it.
    ownerAccountId: bucket.ownerAccountId,
    partsCount: 0,
    extra,
    body: stored.body,
  };
  return { record, stored };
}

/** Stores files as new versions in one transaction (all or none). */
async function putFiles(w: Writer, files: FileToWrite[]): Promise<void> {
  const prepared: { record: NewVersion; stored: StoredBody }[] = [];
  try {
    for (const f of files) prepared.push(await prepareVersion(w, f));
    await commitVersions(w.ctx, w.bucket, prepared.map((p) => p.record), (records) => w.ctx.metadata.putVersions(w.bucket, records));
  } catch (err) {
    releaseBodies(w.ctx, prepared.map((p) => p.stored));
    throw err;
  }
}

/** Stores one file under `condition`, decided inside the write's transaction. */
async function putFileIf(w: Writer, file: FileToWrite, condition: WriteCondition): Promise<void> {
  const { record, stored } = await prepareVersion(w, file);
  try {
    await commitVersion(w.ctx, w.bucket, record, condition);
  } catch (err) {
    releaseBodies(w.ctx, [stored]);
    throw err;
  }
}

/** If-None-Match: * — a delete marker on top counts as no object, as for S3's conditional writes. */
const createOnly: WriteCondition = (latest) => {
  if (latest && !latest.isDeleteMarker) throw new AlreadyExists(`${latest.key} already exists`);
};

/**
 * Creates the file only if its key has no current object; false when another writer's is there.
 * A store may also report the lost race as an error of its own (PostgreSQL's unique violation when
 * two writers create a key no version of which exists yet): a failed write after which the key
 * exists lost that race just the same.
 */
async function createOnce(w: Writer, file: FileToWrite): Promise<boolean> {
  try {
    await putFileIf(w, file, createOnly);
    return true;
  } catch (err) {
    if (err instanceof AlreadyExists) return false;
    if (await currentVersion(w.ctx, w.location, file.key)) return false;
    throw err;
  }
}

async function currentVersion(ctx: Context, location: TableLocation, key: string): Promise<ObjectVersionRecord | undefined> {
  const v = await ctx.metadata.getLatest(location.bucket, key);
  return v && !v.isDeleteMarker ? v : undefined;
}

/** The current object's plaintext, or undefined when the key has none. */
async function readFile(ctx: Context, location: TableLocation, key: string): Promise<Buffer | undefined> {
  const v = await currentVersion(ctx, location, key);
  return v && readObject(ctx, location, v);
}

/** One object version's plaintext. */
async function readObject(ctx: Context, location: TableLocation, v: ObjectVersionRecord): Promise<Buffer> {
  if (!v.body) return Buffer.alloc(0);
  const bucket = await destinationBucket(ctx, location);
  // An archived table file is refused here as a GET would refuse it, and its access is noted.
  ctx.hooks.beforeBodyRead(ctx, bucket, v);
  const stored = v.extra.encryption as StoredEncryption | undefined;
  const keys = stored ? await ctx.keys.kekFor(stored) : undefined;
  if (v.body.kind === "inline") return openInline(v.body.data, v.size, undefined, keys);
  const chunks: Buffer[] = [];
  for await (const chunk of openBody(ctx.blobs, v.body, v.size, undefined, keys)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// ---- the version hint ----

/**
 * Writes N into metadata/version-hint.text unless a hint of N or more is already there: two
 * writers finishing out of order must not move the hint back. The hint only speeds loading up
 * (loadTable looks past it), so losing this race, or failing to write it, fails no commit.
 */
async function writeVersionHint(w: Writer, uri: string, version: number): Promise<void> {
  const key = keyOfUri(w.location, tableFiles.versionHint(uri));
  const notBehind: WriteCondition = (latest) => {
    const had = latest && !latest.isDeleteMarker ? latest.extra[HINT_VERSION] : undefined;
    if (typeof had === "number" && had >= version) throw new AlreadyExists(`version hint ${had} is not behind ${version}`);
  };
  try {
    await putFileIf(w, { key, bytes: Buffer.from(String(version)), contentType: "text/plain", extra: { [HINT_VERSION]: version } }, notBehind);
  } catch (err) {
    // The commit is durable already; a hint that stays behind costs loadTable a few lookups.
    if (!(err instanceof AlreadyExists)) w.ctx.log.warn("could not move an Iceberg table's version hint", { table: tableUri(w.location), version, error: String(err) });
  }
}

async function readVersionHint(ctx: Context, location: TableLocation, uri: string): Promise<number | undefined> {
  const text = (await readFile(ctx, location, keyOfUri(location, tableFiles.versionHint(uri))))?.toString("utf8");
  const n = text === undefined ? NaN : Number.parseInt(text.trim(), 10);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

// ---- operations ----

const metadataKey = (location: TableLocation, uri: string, version: number) => keyOfUri(location, tableFiles.metadata(uri, version));

/** Where a table's current metadata is: v<N>.metadata.json, its key, and the object stored there. */
export interface TableMetadataFile {
  uri: string;
  version: number;
  key: string;
  object: ObjectVersionRecord;
}

/**
 * The table's current metadata file, found from the bucket's index alone (no object is opened),
 * or undefined when there is no table here: what a reader must be allowed to GET is known before
 * anything of the table is read. Since every v<N> is created once and in order, the newest is the
 * last that exists after the newest listed (a commit may land between the listing and the probe).
 */
export async function locateTable(ctx: Context, location: TableLocation): Promise<TableMetadataFile | undefined> {
  return newestFrom(ctx, location, tableUri(location), Math.max(0, ...(await metadataVersions(ctx, location))));
}

async function newestFrom(ctx: Context, location: TableLocation, uri: string, start: number): Promise<TableMetadataFile | undefined> {
  let found: TableMetadataFile | undefined;
  for (let version = Math.max(start, 1); ; version++) {
    const key = metadataKey(location, uri, version);
    const object = await currentVersion(ctx, location, key);
    if (!object) return found;
    found = { uri, version, key, object };
  }
}

/** The metadata in the file locateTable found: that object version, whatever has landed since. */
export async function readTable(ctx: Context, location: TableLocation, file: TableMetadataFile): Promise<LoadedTable> {
  const bytes = await readObject(ctx, location, file.object);
  return { location, uri: file.uri, version: file.version, metadataUri: tableFiles.metadata(file.uri, file.version), metadata: JSON.parse(bytes.toString("utf8")) as TableMetadata };
}

/**
 * The table's current metadata, or undefined when there is no table here. The hint says where to
 * start, saving the listing; it lags behind a commit whose writer stopped before updating it, or
 * lost its race, so the newest is looked for past it. Without a hint naming a file that is there,
 * the listing decides (locateTable): older versions are deleted once they leave the metadata-log
 * (deleteOldMetadata), so v1 may be gone.
 */
export async function loadTable(ctx: Context, location: TableLocation): Promise<LoadedTable | undefined> {
  const uri = tableUri(location);
  const hinted = await readVersionHint(ctx, location, uri);
  const file = (hinted !== undefined ? await newestFrom(ctx, location, uri, hinted) : undefined) ?? (await locateTable(ctx, location));
  return file && readTable(ctx, location, file);
}

/** The N of every v<N>.metadata.json stored under the table's location. */
async function metadataVersions(ctx: Context, location: TableLocation): Promise<number[]> {
  const prefix = `${location.prefix}metadata/v`;
  const versions: number[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await ctx.metadata.listCurrent({ bucket: location.bucket, prefix, after, limit: 1000 });
    for (const v of page) {
      const n = /^(\d+)\.metadata\.json$/.exec(v.key.slice(prefix.length));
      if (n) versions.push(Number(n[1]));
    }
    if (page.length < 1000) return versions;
    after = page[page.length - 1]!.key;
  }
}

/**
 * Deletes the metadata files that are neither current nor in the current metadata's
 * metadata-log, as Iceberg's write.metadata.delete-after-commit.enabled does: every commit writes
 * a whole new metadata file, and a journal commits every few seconds.
 */
export async function deleteOldMetadata(ctx: Context, location: TableLocation, options: TableOptions = {}): Promise<number> {
  const table = await loadTable(ctx, location);
  if (!table) return 0;
  const kept = new Set([table.version, ...table.metadata["metadata-log"].map((e) => metadataVersionOf(e["metadata-file"]))]);
  const old = (await metadataVersions(ctx, location)).filter((n) => n < table.version && !kept.has(n));
  if (old.length === 0) return 0;
  return discard(await writerFor(ctx, location, options), old.map((n) => metadataKey(location, table.uri, n)));
}

/** Creates the table (v1.metadata.json, then the hint); an existing table is returned as it is. */
export async function createTable(ctx: Context, location: TableLocation, schema: IcebergSchema, options: TableOptions & { properties?: Record<string, string> } = {}): Promise<LoadedTable> {
  const existing = await loadTable(ctx, location);
  if (existing) return existing;
  const w = await writerFor(ctx, location, options);
  const uri = tableUri(location);
  const metadata = newTableMetadata({ tableUuid: newTableUuid(), location: uri, schema, properties: options.properties, nowMs: ctx.clock.now().getTime() });
  if (!(await createOnce(w, { key: metadataKey(location, uri, 1), bytes: metadataJson(metadata), contentType: "application/json" }))) {
    // Another writer created it first: theirs is the table.
    const created = await loadTable(ctx, location);
    if (!created) throw new Error(`Iceberg table ${uri}: v1.metadata.json exists but cannot be loaded`);
    return created;
  }
  await writeVersionHint(w, uri, 1);
  return { location, uri, version: 1, metadataUri: tableFiles.metadata(uri, 1), metadata };
}

function metadataJson(metadata: TableMetadata): Buffer {
  return Buffer.from(JSON.stringify(metadata, null, 2));
}

/** What a commit's preparation wrote for one attempt: files only that attempt's metadata names. */
export interface PreparedCommit {
  metadata: TableMetadata;
  /** Keys removed again when the attempt loses (a manifest list naming the stale parent). */
  attemptFiles?: string[];
}

export interface CommitOptions extends TableOptions {
  /** Attempts before giving up with CommitConflict (each loser of a race tries again). */
  maxAttempts?: number;
}

export interface Committed extends LoadedTable {
  /** 1 when the first attempt won; more when other writers committed in between. */
  attempts: number;
}

const DEFAULT_MAX_ATTEMPTS = 25;

/**
 * Optimistic commit: loads the current table, asks `prepare` for the metadata that follows it
 * (prepare writes whatever that metadata names, such as a manifest list), and creates
 * v<N+1>.metadata.json only if no other writer has. On a lost race it reloads and prepares again.
 * Then the hint moves to N+1.
 */
export async function commit(ctx: Context, location: TableLocation, prepare: (base: LoadedTable, attempt: number) => Promise<PreparedCommit>, options: CommitOptions = {}): Promise<Committed> {
  const w = await writerFor(ctx, location, options);
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const base = await loadTable(ctx, location);
    if (!base) throw new Error(`no Iceberg table at ${tableUri(location)}`);
    const { metadata, attemptFiles = [] } = await prepare(base, attempt);
    const version = base.version + 1;
    if (!(await createOnce(w, { key: metadataKey(location, base.uri, version), bytes: metadataJson(metadata), contentType: "application/json" }))) {
      await discard(w, attemptFiles);
      // A little random wait, so that writers who keep colliding spread out.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 5 * attempt)));
      continue;
    }
    await writeVersionHint(w, base.uri, version);
    return { location, uri: base.uri, version, metadataUri: tableFiles.metadata(base.uri, version), metadata, attempts: attempt };
  }
  throw new CommitConflict(`Iceberg table ${tableUri(location)}: no commit after ${maxAttempts} attempts`);
}

/**
 * Best effort: a file left behind is an orphan no metadata names, harmless to readers. Returns how
 * many were deleted.
 */
async function discard(w: Writer, keys: Iterable<string>): Promise<number> {
  let deleted = 0;
  for (const key of keys) {
    const v = await currentVersion(w.ctx, w.location, key);
    if (!v) continue;
    const gone = await deleteObjectOrVersion(w.ctx, w.bucket, key, v.versionId, { owner: w.bucket.ownerAccountId, bypassGovernance: false }).then(
      () => true,
      () => false,
    );
    if (gone) deleted++;
  }
  return deleted;
}

/** Thrown by a commit's preparation that finds nothing to change on its base. */
class NothingToCommit extends Error {}

/** commit, or undefined when the preparation found nothing to change (then nothing was written). */
async function commitUnlessNothing(ctx: Context, location: TableLocation, prepare: (base: LoadedTable, attempt: number) => Promise<PreparedCommit>, options: CommitOptions): Promise<Committed | undefined> {
  try {
    return await commit(ctx, location, prepare, options);
  } catch (err) {
    if (err instanceof NothingToCommit) return undefined;
    throw err;
  }
}

// ---- data files and manifests ----

/** Iceberg's per-column metrics mode: write.metadata.metrics.column.<column name>. */
const METRICS_MODE_PROPERTY = "write.metadata.metrics.column.";

/**
 * Bound lengths, by field id, for the top-level columns whose metrics mode the table sets to full
 * (whole values: the engine reads where a shard starts from its data file's `key` bounds) or
 * truncate(n). The modes counts and none are not applied: such a column keeps the default bounds,
 * which say more than was asked but nothing wrong.
 * https://iceberg.apache.org/docs/latest/configuration/#write-properties
 */
function columnBoundLengths(metadata: TableMetadata, schema: IcebergSchema): Map<number, number> {
  const lengths = new Map<number, number>();
  for (const field of schema.fields) {
    const mode = metadata.properties[`${METRICS_MODE_PROPERTY}${field.name}`]?.trim().toLowerCase();
    const truncate = mode === undefined ? null : /^truncate\(([1-9][0-9]*)\)$/.exec(mode);
    if (mode === "full") lengths.set(field.id, Infinity);
    else if (truncate) lengths.set(field.id, Number(truncate[1]));
  }
  return lengths;
}

const OCTET_STREAM = "application/octet-stream";

/** Rows as a Parquet data file of the table's current schema, and the data_file record naming it. */
async function dataFileOf(table: LoadedTable, rows: readonly IcebergRow[], name: string): Promise<{ file: FileToWrite; record: DataFileRecord }> {
  const schema = currentSchema(table.metadata);
  const { bytes, metrics } = await writeIcebergParquet(schema, rows, { columnBoundLengths: columnBoundLengths(table.metadata, schema) });
  const uri = tableFiles.data(table.uri, name);
  return { file: { key: keyOfUri(table.location, uri), bytes, contentType: OCTET_STREAM }, record: dataFileRecord(uri, metrics) };
}

function manifestFile(location: TableLocation, uri: string, schema: IcebergSchema, entries: ManifestEntryRecord[]): FileToWrite {
  const bytes = writeAvroContainer({ schema: manifestEntrySchema(UNPARTITIONED_SPEC), metadata: manifestFileMetadata(schema), records: entries, codec: "null" });
  return { key: keyOfUri(location, uri), bytes, contentType: OCTET_STREAM };
}

/** The manifest list `metadata` names for its current snapshot. */
function manifestListFile(location: TableLocation, metadata: TableMetadata, manifests: ManifestFileRecord[]): FileToWrite {
  const snapshot = currentSnapshot(metadata)!;
  const bytes = writeAvroContainer({ schema: MANIFEST_LIST_SCHEMA, metadata: manifestListMetadata(snapshot), records: manifests, codec: "null" });
  return { key: keyOfUri(location, snapshot["manifest-list"]), bytes, contentType: OCTET_STREAM };
}

async function loadExisting(ctx: Context, location: TableLocation): Promise<LoadedTable> {
  const table = await loadTable(ctx, location);
  if (!table) throw new Error(`no Iceberg table at ${tableUri(location)}`);
  return table;
}

/**
 * Writes rows as one Parquet data file of the table's current schema, under a name of its own.
 * No snapshot names it yet: it joins the table when rewriteFiles commits it.
 */
export async function writeDataFile(ctx: Context, location: TableLocation, rows: readonly IcebergRow[], options: TableOptions = {}): Promise<DataFileRecord> {
  if (rows.length === 0) throw new RangeError(`Iceberg table ${tableUri(location)}: a data file needs at least one row`);
  const table = await loadExisting(ctx, location);
  const { file, record } = await dataFileOf(table, rows, `${randomUUID()}-00000`);
  await putFiles(await writerFor(ctx, location, options), [file]);
  return record;
}

/** A data file's bytes, decrypted, with what checks a whole read of them: for the shard thread. */
export async function readDataFileBytes(ctx: Context, location: TableLocation, dataFile: DataFileRecord): Promise<{ bytes: Uint8Array; uri: string; recordCount: number }> {
  const bytes = await readTableFile(ctx, location, dataFile.file_path);
  if (!bytes) throw new Error(`Iceberg data file ${dataFile.file_path} is missing`);
  return { bytes, uri: dataFile.file_path, recordCount: dataFile.record_count };
}

/** What a data file of the table is encoded with: for a thread that encodes them apart (storeEncodedDataFile). */
export function dataFileEncoding(table: LoadedTable): { schema: IcebergSchema; columnBoundLengths: Map<number, number> } {
  const schema = currentSchema(table.metadata);
  return { schema, columnBoundLengths: columnBoundLengths(table.metadata, schema) };
}

/** Stores a data file encoded elsewhere (with dataFileEncoding's settings) as writeDataFile stores its own. */
export async function storeEncodedDataFile(ctx: Context, location: TableLocation, encoded: { bytes: Uint8Array; metrics: DataFileMetrics }, options: TableOptions = {}): Promise<DataFileRecord> {
  const uri = tableFiles.data(tableUri(location), `${randomUUID()}-00000`);
  const bytes = Buffer.from(encoded.bytes.buffer, encoded.bytes.byteOffset, encoded.bytes.byteLength);
  await putFiles(await writerFor(ctx, location, options), [{ key: keyOfUri(location, uri), bytes, contentType: OCTET_STREAM }]);
  return dataFileRecord(uri, encoded.metrics);
}

/**
 * Deletes data files that writeDataFile wrote and no commit took (a backfill stopped halfway):
 * best effort, as a commit's own leftovers.
 */
export async function discardDataFiles(ctx: Context, location: TableLocation, files: readonly DataFileRecord[], options: TableOptions = {}): Promise<number> {
  if (files.length === 0) return 0;
  return discard(await writerFor(ctx, location, options), dataFileKeys(location, files));
}

function dataFileKeys(location: TableLocation, files: readonly DataFileRecord[]): string[] {
  return files.map((f) => keyOfUri(location, f.file_path));
}

// ---- appending ----

export interface AppendOptions extends CommitOptions {
  /** Further snapshot summary properties, such as the engine's watermark. */
  summary?: Record<string, string>;
  /** Commit even without rows: a snapshot that adds nothing and only records its summary. */
  allowEmpty?: boolean;
}

export interface Appended extends Committed {
  snapshotId: number;
  /** Absent when the commit had no rows (allowEmpty). */
  dataFile?: string;
}

/**
 * Appends rows as one snapshot (operation "append"): one Parquet data file and one manifest,
 * written once; then, per attempt, a manifest list carrying the parent snapshot's manifests and
 * the new one, and the next metadata version. Without rows nothing is committed, unless
 * allowEmpty asks for a snapshot that carries the parent's manifests and the summary only.
 */
export async function appendRows(ctx: Context, location: TableLocation, rows: readonly IcebergRow[], options: AppendOptions = {}): Promise<Appended | undefined> {
  const start = await loadExisting(ctx, location);
  if (rows.length === 0 && !options.allowEmpty) return undefined;
  const w = await writerFor(ctx, location, options);
  const uri = start.uri;
  const commitUuid = randomUUID();
  // Kept across attempts: the manifest names it in its entries, so it is fixed before the loop.
  const snapshotId = newSnapshotId(new Set(start.metadata.snapshots.map((s) => s["snapshot-id"])));

  let added: { dataFile: DataFileRecord; manifestUri: string; manifestLength: number; entries: ManifestEntryRecord[] } | undefined;
  if (rows.length > 0) {
    const data = await dataFileOf(start, rows, `${commitUuid}-00000`);
    const entries = [addedEntry(snapshotId, data.record)];
    const manifestUri = tableFiles.manifest(uri, commitUuid, 0);
    const manifest = manifestFile(location, manifestUri, currentSchema(start.metadata), entries);
    await putFiles(w, [data.file, manifest]);
    added = { dataFile: data.record, manifestUri, manifestLength: manifest.bytes.length, entries };
  }

  const committed = await commit(
    ctx,
    location,
    async (base, attempt) => {
      if (base.metadata.snapshots.some((s) => s["snapshot-id"] === snapshotId)) {
        throw new Error(`Iceberg table ${uri}: snapshot id ${snapshotId} was taken by another commit`);
      }
      const sequenceNumber = nextSequenceNumber(base.metadata);
      const carried = await manifestsOf(ctx, location, base.metadata);
      const metadata = addSnapshot(base.metadata, {
        snapshotId,
        parentSnapshotId: parentForNextSnapshot(base.metadata),
        sequenceNumber,
        manifestList: tableFiles.manifestList(uri, snapshotId, attempt, commitUuid),
        operation: "append",
        changes: added ? { addedDataFiles: 1, addedRecords: added.dataFile.record_count, addedFilesSize: added.dataFile.file_size_in_bytes } : {},
        timestampMs: ctx.clock.now().getTime(),
        baseMetadataLocation: base.metadataUri,
        summary: options.summary,
      });
      const manifests = added
        ? // The new manifest first, as the reference implementation orders a snapshot's manifests.
          [manifestFileRecord({ path: added.manifestUri, length: added.manifestLength, addedSnapshotId: snapshotId, sequenceNumber, entries: added.entries }), ...carried]
        : carried;
      const list = manifestListFile(location, metadata, manifests);
      await putFiles(w, [list]);
      return { metadata, attemptFiles: [list.key] };
    },
    options,
  );
  return { ...committed, snapshotId, dataFile: added?.dataFile.file_path };
}

// ---- reading a snapshot's files ----

/** A manifest list's manifest_file records, or undefined when the list is gone. */
async function readManifestList(ctx: Context, location: TableLocation, listUri: string): Promise<ManifestFileRecord[] | undefined> {
  const bytes = await readFile(ctx, location, keyOfUri(location, listUri));
  return bytes && (readAvroContainer(bytes).records as ManifestFileRecord[]);
}

/** The manifest_file records of the current snapshot's manifest list ([] before the first commit). */
export async function manifestsOf(ctx: Context, location: TableLocation, metadata: TableMetadata): Promise<ManifestFileRecord[]> {
  const snapshot = currentSnapshot(metadata);
  return snapshot ? manifestsOfSnapshot(ctx, location, snapshot) : [];
}

async function manifestsOfSnapshot(ctx: Context, location: TableLocation, snapshot: Snapshot): Promise<ManifestFileRecord[]> {
  const manifests = await readManifestList(ctx, location, snapshot["manifest-list"]);
  if (!manifests) throw new Error(`Iceberg table ${tableUri(location)}: manifest list ${snapshot["manifest-list"]} is missing`);
  return manifests;
}

/** A manifest's entries, or undefined when the manifest is gone. */
async function readManifest(ctx: Context, location: TableLocation, manifestUri: string): Promise<ManifestEntryRecord[] | undefined> {
  const bytes = await readFile(ctx, location, keyOfUri(location, manifestUri));
  return bytes && (readAvroContainer(bytes).records as ManifestEntryRecord[]);
}

async function manifestEntries(ctx: Context, location: TableLocation, manifest: ManifestFileRecord): Promise<ManifestEntryRecord[]> {
  const entries = await readManifest(ctx, location, manifest.manifest_path);
  if (!entries) throw new Error(`Iceberg table ${tableUri(location)}: manifest ${manifest.manifest_path} is missing`);
  return entries;
}

/**
 * Every data file of the table's current snapshot ([] before the first commit). An entry leaves
 * null what it inherits from its manifest's record in the manifest list (spec "Sequence Number
 * Inheritance"): an added file's sequence numbers are its commit's, known only once committed.
 */
export async function liveFiles(ctx: Context, location: TableLocation, metadata: TableMetadata): Promise<LiveFile[]> {
  const live: LiveFile[] = [];
  for (const manifest of await manifestsOf(ctx, location, metadata)) {
    // Rows a delete file removes would still be read from their data files here.
    if (manifest.content !== 0) throw new Error(`Iceberg table ${metadata.location}: ${manifest.manifest_path} lists delete files, which this store does not apply`);
    for (const entry of await manifestEntries(ctx, location, manifest)) {
      if (entry.status === ENTRY_STATUS.deleted) continue;
      live.push({
        snapshotId: entry.snapshot_id ?? manifest.added_snapshot_id,
        sequenceNumber: entry.sequence_number ?? manifest.sequence_number,
        fileSequenceNumber: entry.file_sequence_number ?? manifest.sequence_number,
        dataFile: entry.data_file,
      });
    }
  }
  return live;
}

/** The Parquet, Avro or JSON bytes of one of the table's files, by its URI. */
export function readTableFile(ctx: Context, location: TableLocation, uri: string): Promise<Buffer | undefined> {
  return readFile(ctx, location, keyOfUri(location, uri));
}

// ---- rewriting ----

export interface Rewrite extends CommitOptions {
  /** Files writeDataFile wrote for this commit. */
  add: readonly DataFileRecord[];
  /**
   * The paths of the live files to remove, decided on each attempt's base: a retry on a snapshot
   * another writer committed meanwhile decides again. None when left out.
   */
  remove?: (base: LoadedTable, live: readonly LiveFile[]) => readonly string[] | Promise<readonly string[]>;
  /** Else "append" when nothing is removed, "delete" when nothing is added, "overwrite" otherwise; a compaction is "replace". */
  operation?: SnapshotOperation;
  /** Further snapshot summary properties (the engine's watermark), or what computes them on each attempt's base. */
  summary?: Record<string, string> | ((base: LoadedTable, live: readonly LiveFile[]) => Record<string, string>);
  /** Commit even when nothing is added or removed: a snapshot that only records its summary. */
  allowEmpty?: boolean;
}

export interface Rewritten extends Committed {
  snapshotId: number;
  /** What the winning attempt removed. */
  removed: string[];
}

const total = (files: readonly DataFileRecord[], of: (f: DataFileRecord) => number): number => files.reduce((sum, f) => sum + of(f), 0);

/**
 * Adds and removes data files in one snapshot. Each attempt writes one manifest that lists every
 * file of the new snapshot: the added ones (ADDED), the others of the base (EXISTING, keeping
 * their sequence numbers) and the removed ones (DELETED); the manifest list names only it. Without
 * allowEmpty, an attempt that would add and remove nothing makes no commit (undefined).
 */
export function rewriteFiles(ctx: Context, location: TableLocation, rewrite: Rewrite & { allowEmpty: true }): Promise<Rewritten>;
export function rewriteFiles(ctx: Context, location: TableLocation, rewrite: Rewrite): Promise<Rewritten | undefined>;
export async function rewriteFiles(ctx: Context, location: TableLocation, rewrite: Rewrite): Promise<Rewritten | undefined> {
  const w = await writerFor(ctx, location, rewrite);
  let decided!: { snapshotId: number; removed: string[] };
  let unprepared = false;
  const prepare = async (base: LoadedTable, attempt: number): Promise<PreparedCommit> => {
    const live = await liveFiles(ctx, location, base.metadata);
    const removing = new Set(await rewrite.remove?.(base, live));
    const livePaths = new Set(live.map((f) => f.dataFile.file_path));
    for (const path of removing) {
      if (!livePaths.has(path)) throw new Error(`Iceberg table ${base.uri}: ${path} is not a data file of the snapshot being rewritten`);
    }
    if (rewrite.add.length === 0 && removing.size === 0 && !rewrite.allowEmpty) throw new NothingToCommit();

    const snapshotId = newSnapshotId(new Set(base.metadata.snapshots.map((s) => s["snapshot-id"])));
    const sequenceNumber = nextSequenceNumber(base.metadata);
    const removed = live.filter((f) => removing.has(f.dataFile.file_path));
    const entries = [
      ...rewrite.add.map((f) => addedEntry(snapshotId, f)),
      ...live.filter((f) => !removing.has(f.dataFile.file_path)).map(existingEntry),
      ...removed.map((f) => deletedEntry(snapshotId, f)),
    ];
    const removedFiles = removed.map((f) => f.dataFile);
    const changes: FileChanges = {
      addedDataFiles: rewrite.add.length,
      deletedDataFiles: removed.length,
      addedRecords: total(rewrite.add, (f) => f.record_count),
      deletedRecords: total(removedFiles, (f) => f.record_count),
      addedFilesSize: total(rewrite.add, (f) => f.file_size_in_bytes),
      removedFilesSize: total(removedFiles, (f) => f.file_size_in_bytes),
    };
    const commitUuid = randomUUID();
    const metadata = addSnapshot(base.metadata, {
      snapshotId,
      parentSnapshotId: parentForNextSnapshot(base.metadata),
      sequenceNumber,
      manifestList: tableFiles.manifestList(base.uri, snapshotId, attempt, commitUuid),
      operation: rewrite.operation ?? (removed.length === 0 ? "append" : rewrite.add.length === 0 ? "delete" : "overwrite"),
      changes,
      timestampMs: ctx.clock.now().getTime(),
      baseMetadataLocation: base.metadataUri,
      summary: typeof rewrite.summary === "function" ? rewrite.summary(base, live) : rewrite.summary,
    });

    const files: FileToWrite[] = [];
    const manifests: ManifestFileRecord[] = [];
    // An empty table that stays empty has no entry to list.
    if (entries.length > 0) {
      const manifestUri = tableFiles.manifest(base.uri, commitUuid, 0);
      const manifest = manifestFile(location, manifestUri, currentSchema(base.metadata), entries);
      files.push(manifest);
      manifests.push(manifestFileRecord({ path: manifestUri, length: manifest.bytes.length, addedSnapshotId: snapshotId, sequenceNumber, entries }));
    }
    files.push(manifestListFile(location, metadata, manifests));
    await putFiles(w, files);
    decided = { snapshotId, removed: [...removing] };
    return { metadata, attemptFiles: files.map((f) => f.key) };
  };
  try {
    const committed = await commitUnlessNothing(
      ctx,
      location,
      (base, attempt) =>
        prepare(base, attempt).catch((err: unknown) => {
          unprepared = true;
          throw err;
        }),
      rewrite,
    );
    return committed && { ...committed, ...decided };
  } catch (err) {
    // A preparation that failed (the caller's check refused the base, say) or other writers that
    // won every attempt: no metadata names the files to add, so they go rather than stay as
    // orphans. After any other failure the metadata may have been written, and they stay.
    if (unprepared || err instanceof CommitConflict) await discard(w, dataFileKeys(location, rewrite.add));
    throw err;
  }
}

// ---- expiring snapshots ----

export interface ExpireTableOptions extends CommitOptions {
  /** Snapshots made before this time (epoch ms) expire... */
  olderThanMs: number;
  /** ...except the newest this many of each branch (main's head always stays). */
  retainLast: number;
}

export interface ExpiredTable {
  expiredSnapshots: number;
  /** Manifest lists, manifests and data files deleted. */
  deletedFiles: number;
}

/** The manifests and live data files the snapshots reach. */
async function reachedBy(ctx: Context, location: TableLocation, snapshots: readonly Snapshot[]): Promise<{ manifests: Set<string>; dataFiles: Set<string> }> {
  const manifests = new Set<string>();
  const dataFiles = new Set<string>();
  for (const snapshot of snapshots) {
    for (const manifest of await manifestsOfSnapshot(ctx, location, snapshot)) {
      if (manifests.has(manifest.manifest_path)) continue;
      manifests.add(manifest.manifest_path);
      for (const entry of await manifestEntries(ctx, location, manifest)) {
        if (entry.status !== ENTRY_STATUS.deleted) dataFiles.add(entry.data_file.file_path);
      }
    }
  }
  return { manifests, dataFiles };
}

/**
 * Expires snapshots (expireSnapshots, committed as any change is), then deletes the files only
 * they used: their manifest lists, and the manifests and data files no retained snapshot reaches.
 * What to delete is what the expired snapshots reach minus what the retained ones do, never a
 * listing of the table's objects: a data file written for a commit still under way (writeDataFile
 * before rewriteFiles) is no orphan. Old metadata files stay: loadTable walks up from v1 when the
 * version hint is lost, so v1 onwards must stay. Nothing to expire: no commit.
 */
export async function expireTable(ctx: Context, location: TableLocation, options: ExpireTableOptions): Promise<ExpiredTable> {
  let expired: Snapshot[] = [];
  const committed = await commitUnlessNothing(
    ctx,
    location,
    async (base) => {
      const expiration = expireSnapshots(base.metadata, {
        olderThanMs: options.olderThanMs,
        retainLast: options.retainLast,
        nowMs: ctx.clock.now().getTime(),
        baseMetadataLocation: base.metadataUri,
      });
      if (expiration.metadata === base.metadata) throw new NothingToCommit();
      expired = expiration.expired;
      return { metadata: expiration.metadata };
    },
    options,
  );
  if (!committed) return { expiredSnapshots: 0, deletedFiles: 0 };

  // All of what stays is known before anything goes; an unreadable file of a retained snapshot
  // stops the deletes (the expiration itself is committed, its files become orphans).
  const kept = await reachedBy(ctx, location, committed.metadata.snapshots);
  const doomed = new Set<string>();
  // Files already gone are passed over: nothing of them is left to find or delete.
  for (const snapshot of expired) {
    const manifests = await readManifestList(ctx, location, snapshot["manifest-list"]);
    if (!manifests) continue;
    doomed.add(snapshot["manifest-list"]);
    for (const manifest of manifests) {
      if (kept.manifests.has(manifest.manifest_path) || doomed.has(manifest.manifest_path)) continue;
      doomed.add(manifest.manifest_path);
      for (const entry of (await readManifest(ctx, location, manifest.manifest_path)) ?? []) {
        const path = entry.data_file.file_path;
        if (entry.status !== ENTRY_STATUS.deleted && !kept.dataFiles.has(path)) doomed.add(path);
      }
    }
  }
  const w = await writerFor(ctx, location, options);
  const deletedFiles = await discard(w, [...doomed].map((uri) => keyOfUri(location, uri)));
  return { expiredSnapshots: expired.length, deletedFiles };
}

/**
 * Deletes the files under the table's data/ and metadata/ that no snapshot of its current metadata
 * names and that are older than `olderThanMs`, as Iceberg's "remove orphan files" does: what a
 * crash left between writing a commit's files and its metadata file, or between an expiration's
 * commit and its deletes. The age is what spares a commit still under way, whose files no
 * metadata names yet. Metadata files and the version hint are deleteOldMetadata's. A file named
 * in any status is kept, and nothing is deleted when a manifest list or manifest cannot be read:
 * what the snapshots name is then not known.
 */
export async function deleteOrphanFiles(ctx: Context, location: TableLocation, options: TableOptions & { olderThanMs: number }): Promise<number> {
  const table = await loadTable(ctx, location);
  if (!table) return 0;
  const named = await namedBy(ctx, location, table.metadata.snapshots);
  if (!named) return 0;
  const orphans: string[] = [];
  for (const folder of ["data/", "metadata/"]) {
    const prefix = `${location.prefix}${folder}`;
    let after: string | undefined;
    for (;;) {
      const page = await ctx.metadata.listCurrent({ bucket: location.bucket, prefix, after, limit: 1000 });
      for (const v of page) {
        const uri = `s3://${location.bucket}/${v.key}`;
        if (v.lastModified.getTime() >= options.olderThanMs || named.has(uri)) continue;
        if (metadataVersionOf(uri) !== undefined || uri === tableFiles.versionHint(table.uri)) continue;
        orphans.push(v.key);
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]!.key;
    }
  }
  return orphans.length === 0 ? 0 : discard(await writerFor(ctx, location, options), orphans);
}

/** Every manifest list, manifest and data file the snapshots name, or undefined when one of their lists or manifests is gone. */
async function namedBy(ctx: Context, location: TableLocation, snapshots: readonly Snapshot[]): Promise<Set<string> | undefined> {
  const named = new Set<string>();
  for (const snapshot of snapshots) {
    const manifests = await readManifestList(ctx, location, snapshot["manifest-list"]);
    if (!manifests) return undefined;
    named.add(snapshot["manifest-list"]);
    for (const manifest of manifests) {
      if (named.has(manifest.manifest_path)) continue;
      const entries = await readManifest(ctx, location, manifest.manifest_path);
      if (!entries) return undefined;
      named.add(manifest.manifest_path);
      for (const entry of entries) named.add(entry.data_file.file_path);
    }
  }
  return named;
}
