// The embedded metadata store: SQLite (better-sqlite3) in WAL mode with synchronous=FULL, so a
// committed transaction is on disk. Concurrent writes are group-committed: every mutation queued
// in one event-loop turn runs in one transaction (one WAL fsync), each inside its own savepoint so
// a failing one does not undo its neighbours. Keys are TEXT with BINARY collation: memcmp of
// UTF-8, which is S3's key order.
import Database from "better-sqlite3";
import { setImmediate as yieldToRequests } from "node:timers/promises";
import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type {
  AccessKeyRecord,
  AccountRecord,
  BodyPart,
  BucketConfigRow,
  BucketCounts,
  BucketRecord,
  BucketRef,
  DeletedVersions,
  ListObjectsQuery,
  MetadataStore,
  ObjectVersionRecord,
  ListUploadsQuery,
  VersionScan,
  VersionSummary,
  VersionTuple,
  ListVersionsQuery,
  PartRecord,
  UploadRecord,
  VersionPatch,
  WriteCondition,
  ChangeOrigin,
} from "./types.js";
import { BucketGoneError, CHANGE_LOG_KIND, summaryOfTuple, type KeyRange, type VersionChange } from "./types.js";
import { changedVersion, changeOfRow, changeOrigins, pendingChange, updateChanges, type PendingChange } from "./change-log.js";
import { isDiskFullError } from "./disk-space.js";

const MIGRATIONS: string[] = [
  `CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE accounts (
     account_id TEXT PRIMARY KEY, canonical_id TEXT NOT NULL, display_name TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE access_keys (
     access_key_id TEXT PRIMARY KEY, secret TEXT NOT NULL, account_id TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE buckets (
     name TEXT PRIMARY KEY, owner TEXT NOT NULL, region TEXT NOT NULL, created_at INTEGER NOT NULL, versioning TEXT);
   CREATE TABLE versions (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     bucket TEXT NOT NULL, key TEXT NOT NULL, version_id TEXT NOT NULL,
     is_latest INTEGER NOT NULL, is_delete_marker INTEGER NOT NULL,
     size INTEGER NOT NULL, etag TEXT NOT NULL, last_modified INTEGER NOT NULL, storage_class TEXT NOT NULL,
     content_type TEXT, content_headers TEXT NOT NULL, user_metadata TEXT NOT NULL, owner TEXT NOT NULL,
     parts_count INTEGER NOT NULL, extra TEXT NOT NULL, inline_body BLOB, blob_id TEXT,
     UNIQUE (bucket, key, version_id));
   CREATE INDEX versions_by_key ON versions (bucket, key, seq);
   CREATE INDEX versions_current ON versions (bucket, key) WHERE is_latest = 1 AND is_delete_marker = 0;
   CREATE INDEX versions_blob ON versions (blob_id) WHERE blob_id IS NOT NULL;
   CREATE TABLE bucket_configs (
     bucket TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (bucket, kind, id));`,
  `CREATE TABLE uploads (
     upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, initiated INTEGER NOT NULL, owner TEXT NOT NULL,
     storage_class TEXT NOT NULL, content_type TEXT, content_headers TEXT NOT NULL, user_metadata TEXT NOT NULL,
     checksum_algorithm TEXT, checksum_type TEXT, extra TEXT NOT NULL);
   CREATE INDEX uploads_by_key ON uploads (bucket, key, initiated, upload_id);
   CREATE TABLE parts (
     upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL, blob_id TEXT NOT NULL, checksum TEXT, PRIMARY KEY (upload_id, part_number));
   CREATE INDEX parts_blob ON parts (blob_id);`,
  // The body of a version made by CompleteMultipartUpload: its parts' blobs, in part-number order.
  // Such a version has parts_count > 0 and no blob_id. Indexed by blob id for isBlobReferenced.
  `CREATE TABLE version_parts (
     version_seq INTEGER NOT NULL, part_number INTEGER NOT NULL, blob_id TEXT NOT NULL, size INTEGER NOT NULL, checksum TEXT,
     PRIMARY KEY (version_seq, part_number));
   CREATE INDEX version_parts_blob ON version_parts (blob_id);`,
  // Configurations of one kind across buckets (listConfigsOfKind), for the inventory scheduler.
  `CREATE INDEX bucket_configs_by_kind ON bucket_configs (kind, bucket, id);`,
  // Each creation of a bucket gets an id of its own (BucketRef); buckets made before ids existed
  // get one here (SQLite's randomblob, as the application's ids are random too).
  `ALTER TABLE buckets ADD COLUMN id TEXT NOT NULL DEFAULT '';
   UPDATE buckets SET id = lower(hex(randomblob(16))) WHERE id = '';`,
  // Versions and current objects per bucket, kept by triggers inside each write's transaction, so
  // the metrics read one row per bucket instead of counting every version (bucketCounts).
  `CREATE TABLE bucket_counts (bucket TEXT PRIMARY KEY, versions INTEGER NOT NULL, objects INTEGER NOT NULL);
   INSERT INTO bucket_counts (bucket, versions, objects)
     SELECT bucket, count(*), sum(is_latest = 1 AND is_delete_marker = 0) FROM versions GROUP BY bucket;
   CREATE TRIGGER bucket_counts_insert AFTER INSERT ON versions BEGIN
     INSERT INTO bucket_counts (bucket, versions, objects) VALUES (NEW.bucket, 1, NEW.is_latest = 1 AND NEW.is_delete_marker = 0)
       ON CONFLICT (bucket) DO UPDATE SET versions = versions + 1, objects = objects + excluded.objects;
   END;
   CREATE TRIGGER bucket_counts_delete AFTER DELETE ON versions BEGIN
     UPDATE bucket_counts SET versions = versions - 1, objects = objects - (OLD.is_latest = 1 AND OLD.is_delete_marker = 0)
       WHERE bucket = OLD.bucket;
   END;
   CREATE TRIGGER bucket_counts_latest AFTER UPDATE OF is_latest ON versions
     WHEN NEW.is_delete_marker = 0 AND NEW.is_latest != OLD.is_latest BEGIN
     UPDATE bucket_counts SET objects = objects + NEW.is_latest - OLD.is_latest WHERE bucket = NEW.bucket;
   END;
   CREATE TRIGGER bucket_counts_bucket_gone AFTER DELETE ON buckets BEGIN
     DELETE FROM bucket_counts WHERE bucket = OLD.name;
   END;`,
  // The change log of buckets with an S3 Metadata configuration (src/storage/change-log.ts): the
  // entries, and per bucket the newest number, kept for when every entry has been dropped.
  `CREATE TABLE change_logs (bucket TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
   CREATE TABLE changes (
     bucket TEXT NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, version_id TEXT NOT NULL, kind TEXT NOT NULL,
     at INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (bucket, seq));`,
];

/**
 * Change-log entries read or dropped per synchronous call: a pass takes up to 50,000 (the journal)
 * or 100,000 (the inventory table's upkeep), and 50,000 read or 85,000 dropped at once held the
 * server's thread for some 200 ms. Reads yield to requests between pages.
 */
const CHANGE_PAGE = 5_000;

/** Every column but the inline body, which only single-object reads need. */
const RECORD_COLUMNS = `bucket, key, version_id, is_latest, is_delete_marker, size, etag, last_modified, storage_class,
  content_type, content_headers, user_metadata, owner, parts_count, extra, blob_id`;

interface VersionRow {
  /** Selected by single-version reads only: the key of the version's parts in version_parts. */
  seq?: number;
  bucket: string;
  key: string;
  version_id: string;
  is_latest: number;
  is_delete_marker: number;
  size: number;
  etag: string;
  last_modified: number;
  storage_class: string;
  content_type: string | null;
  content_headers: string;
  user_metadata: string;
  owner: string;
  parts_count: number;
  extra: string;
  blob_id: string | null;
  inline_body?: Buffer | null;
}

/** True when the version's body lives in version_parts (see the migration that adds it). */
function hasPartsBody(row: VersionRow): boolean {
  return row.blob_id === null && row.parts_count > 0 && row.is_delete_marker === 0;
}

/** `parts` is the version's multipart body, for single-version reads of such a version. */
function toRecord(row: VersionRow, parts?: BodyPart[]): ObjectVersionRecord {
  let body: ObjectVersionRecord["body"] = null;
  if (row.blob_id !== null) body = { kind: "blob", blobId: row.blob_id };
  else if (parts !== undefined) body = { kind: "parts", parts };
  else if (row.inline_body !== undefined && row.is_delete_marker === 0) body = { kind: "inline", data: row.inline_body ?? Buffer.alloc(0) };
  return {
    bucket: row.bucket,
    key: row.key,
    versionId: row.version_id,
    isLatest: row.is_latest === 1,
    isDeleteMarker: row.is_delete_marker === 1,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.last_modified),
    storageClass: row.storage_class,
    contentType: row.content_type ?? undefined,
    contentHeaders: JSON.parse(row.content_headers) as Record<string, string>,
    userMetadata: JSON.parse(row.user_metadata) as Record<string, string>,
    ownerAccountId: row.owner,
    partsCount: row.parts_count,
    extra: JSON.parse(row.extra) as Record<string, unknown>,
    body,
  };
}

/** The smallest string above every string starting with `prefix`, in UTF-8 byte order. */
export function prefixUpperBound(prefix: string): Buffer | undefined {
  const bytes = Buffer.from(prefix, "utf8");
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const bound = Buffer.from(bytes.subarray(0, end));
  bound[end - 1]! += 1;
  return bound;
}

interface QueuedWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  /** Already queued again once after failing for want of disk space. */
  retried?: boolean;
}

export class SqliteMetadataStore implements MetadataStore {
  /** Transactions committed by group commit; tests read it to see batching happen. */
  committedBatches = 0;
  /**
   * Asked when a commit failed for want of disk space; true when it freed some (part of the disk
   * reserve, src/storage/disk-space.ts): the writes that failed are then queued once more.
   */
  onDiskFull: (() => boolean) | undefined;
  private queue: QueuedWrite[] = [];
  private flushScheduled = false;
  private readonly stmts;

  private constructor(
    private readonly db: Database.Database,
    private readonly path: string,
  ) {
    const s = (sql: string) => db.prepare(sql);
    this.stmts = {
      getSetting: s("SELECT value FROM settings WHERE name = ?").pluck(),
      putSetting: s("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
      putAccount: s(
        "INSERT INTO accounts (account_id, canonical_id, display_name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET display_name = excluded.display_name",
      ),
      getAccount: s("SELECT * FROM accounts WHERE account_id = ?"),
      listAccounts: s("SELECT * FROM accounts ORDER BY account_id"),
      putAccessKey: s(
        "INSERT INTO access_keys (access_key_id, secret, account_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (access_key_id) DO UPDATE SET secret = excluded.secret, account_id = excluded.account_id",
      ),
      getAccessKey: s("SELECT * FROM access_keys WHERE access_key_id = ?"),
      listAccessKeys: s("SELECT * FROM access_keys WHERE account_id = ? ORDER BY created_at, access_key_id"),
      deleteAccessKey: s("DELETE FROM access_keys WHERE access_key_id = ?"),
      insertBucket: s("INSERT OR IGNORE INTO buckets (name, id, owner, region, created_at, versioning) VALUES (?, ?, ?, ?, ?, ?)"),
      getBucket: s("SELECT * FROM buckets WHERE name = ?"),
      bucketId: s("SELECT id FROM buckets WHERE name = ?").pluck(),
      listBuckets: s("SELECT * FROM buckets WHERE owner = ? ORDER BY name"),
      bucketHasVersions: s("SELECT 1 FROM versions WHERE bucket = ? LIMIT 1").pluck(),
      deleteBucket: s("DELETE FROM buckets WHERE name = ?"),
      deleteBucketConfigsOf: s("DELETE FROM bucket_configs WHERE bucket = ?"),
      updateBucket: s("UPDATE buckets SET owner = ?, region = ?, created_at = ?, versioning = ? WHERE name = ?"),
      clearLatest: s("UPDATE versions SET is_latest = 0 WHERE bucket = ? AND key = ? AND is_latest = 1"),
      getVersionFull: s(`SELECT seq, ${RECORD_COLUMNS}, inline_body FROM versions WHERE bucket = ? AND key = ? AND version_id = ?`),
      getLatestFull: s(`SELECT seq, ${RECORD_COLUMNS}, inline_body FROM versions WHERE bucket = ? AND key = ? AND is_latest = 1`),
      versionParts: s("SELECT part_number, blob_id, size, checksum FROM version_parts WHERE version_seq = ? ORDER BY part_number"),
      insertVersionPart: s("INSERT INTO version_parts (version_seq, part_number, blob_id, size, checksum) VALUES (?, ?, ?, ?, ?)"),
      deleteVersionParts: s("DELETE FROM version_parts WHERE version_seq = ?"),
      updateVersionFacts: s("UPDATE versions SET extra = ?, storage_class = ? WHERE seq = ?"),
      deleteVersionRow: s("DELETE FROM versions WHERE bucket = ? AND key = ? AND version_id = ?"),
      promoteNewest: s(
        "UPDATE versions SET is_latest = 1 WHERE seq = (SELECT seq FROM versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1)",
      ),
      insertVersion: s(`INSERT INTO versions (bucket, key, version_id, is_latest, is_delete_marker, size, etag, last_modified,
        storage_class, content_type, content_headers, user_metadata, owner, parts_count, extra, inline_body, blob_id)
        VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      listCurrentBounded: s(`SELECT ${RECORD_COLUMNS} FROM versions
        WHERE bucket = ? AND is_latest = 1 AND is_delete_marker = 0 AND key > ? AND key >= ? AND key < CAST(? AS TEXT)
        ORDER BY key LIMIT ?`),
      listCurrentOpen: s(`SELECT ${RECORD_COLUMNS} FROM versions
        WHERE bucket = ? AND is_latest = 1 AND is_delete_marker = 0 AND key > ? AND key >= ?
        ORDER BY key LIMIT ?`),
      countVersions: s("SELECT count(*) FROM versions WHERE bucket = ?").pluck(),
      bucketCounts: s("SELECT bucket, versions, objects FROM bucket_counts ORDER BY bucket"),
      blobReferenced: s(
        `SELECT 1 FROM versions WHERE blob_id = ? UNION ALL SELECT 1 FROM parts WHERE blob_id = ?
         UNION ALL SELECT 1 FROM version_parts WHERE blob_id = ? LIMIT 1`,
      ).pluck(),
      listVersionsFrom: s(`SELECT ${RECORD_COLUMNS} FROM versions
        WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key, seq DESC LIMIT ?`),
      listVersionsOfKeyBefore: s(`SELECT ${RECORD_COLUMNS} FROM versions
        WHERE bucket = ? AND key = ? AND seq < ? ORDER BY seq DESC LIMIT ?`),
      seqOf: s("SELECT seq FROM versions WHERE bucket = ? AND key = ? AND version_id = ?").pluck(),
      insertUpload: s(`INSERT INTO uploads (upload_id, bucket, key, initiated, owner, storage_class, content_type, content_headers,
        user_metadata, checksum_algorithm, checksum_type, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      getUpload: s("SELECT * FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?"),
      listUploadsFrom: s(`SELECT * FROM uploads WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key, initiated, upload_id LIMIT ?`),
      listUploadsOfKeyAfter: s(`SELECT * FROM uploads WHERE bucket = ? AND key = ? AND (initiated, upload_id) > (?, ?)
        ORDER BY initiated, upload_id LIMIT ?`),
      uploadById: s("SELECT * FROM uploads WHERE upload_id = ?"),
      uploadsOfBucket: s("SELECT upload_id FROM uploads WHERE bucket = ?").pluck(),
      deleteUploadRow: s("DELETE FROM uploads WHERE upload_id = ?"),
      getPart: s("SELECT * FROM parts WHERE upload_id = ? AND part_number = ?"),
      putPart: s(`INSERT INTO parts (upload_id, part_number, size, etag, last_modified, blob_id, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag,
        last_modified = excluded.last_modified, blob_id = excluded.blob_id, checksum = excluded.checksum`),
      listParts: s("SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?"),
      allParts: s("SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number"),
      deleteParts: s("DELETE FROM parts WHERE upload_id = ?"),
      putConfig: s(
        "INSERT INTO bucket_configs (bucket, kind, id, json) VALUES (?, ?, ?, ?) ON CONFLICT (bucket, kind, id) DO UPDATE SET json = excluded.json",
      ),
      addConfig: s("INSERT INTO bucket_configs (bucket, kind, id, json) VALUES (?, ?, ?, ?) ON CONFLICT (bucket, kind, id) DO NOTHING"),
      getConfig: s("SELECT json FROM bucket_configs WHERE bucket = ? AND kind = ? AND id = ?").pluck(),
      replaceConfig: s("UPDATE bucket_configs SET json = ? WHERE bucket = ? AND kind = ? AND id = ? AND json = ?"),
      listConfigs: s("SELECT id, json FROM bucket_configs WHERE bucket = ? AND kind = ? AND id > ? ORDER BY id LIMIT ?"),
      listConfigsDescending: s("SELECT id, json FROM bucket_configs WHERE bucket = ? AND kind = ? AND id < ? ORDER BY id DESC LIMIT ?"),
      listAllConfigsDescending: s("SELECT id, json FROM bucket_configs WHERE bucket = ? AND kind = ? ORDER BY id DESC LIMIT ?"),
      countConfigs: s("SELECT count(*) FROM bucket_configs WHERE bucket = ? AND kind = ?").pluck(),
      deleteConfig: s("DELETE FROM bucket_configs WHERE bucket = ? AND kind = ? AND id = ?"),
      listConfigsOfKind: s("SELECT bucket, id, json FROM bucket_configs WHERE kind = ? AND (bucket, id) > (?, ?) ORDER BY bucket, id LIMIT ?"),
      logsChanges: s("SELECT 1 FROM bucket_configs WHERE bucket = ? AND kind = ? LIMIT 1").pluck(),
      // The newest number: the last entry's, or, once every entry has been dropped, the number kept
      // when they were (change_logs). With one writer, a write reads it and adds the next entry
      // without writing a counter row of its own.
      lastChangeSeq: s(
        "SELECT max(coalesce((SELECT max(seq) FROM changes WHERE bucket = @bucket), 0), coalesce((SELECT last_seq FROM change_logs WHERE bucket = @bucket), 0))",
      ).pluck(),
      keepChangeSeq: s(
        "INSERT INTO change_logs (bucket, last_seq) VALUES (?, ?) ON CONFLICT (bucket) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
      ),
      insertChange: s("INSERT INTO changes (bucket, seq, key, version_id, kind, at, body) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      listChanges: s("SELECT seq, key, version_id, kind, at, body FROM changes WHERE bucket = ? AND seq > ? ORDER BY seq LIMIT ?"),
      dropChanges: s("DELETE FROM changes WHERE bucket = ? AND seq <= ?"),
      dropChangesPage: s("DELETE FROM changes WHERE bucket = @bucket AND seq IN (SELECT seq FROM changes WHERE bucket = @bucket AND seq <= @through ORDER BY seq LIMIT @limit)"),
      dropAllChanges: s("DELETE FROM changes WHERE bucket = ?"),
      dropChangeLog: s("DELETE FROM change_logs WHERE bucket = ?"),
    };
  }

  static open(dataDir: string): SqliteMetadataStore {
    const dir = join(dataDir, "meta");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, "stocktake.db");
    const fresh = !existsSync(path);
    const db = new Database(path);
    if (fresh) chmodSync(path, 0o600);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = OFF");
    migrate(db);
    return new SqliteMetadataStore(db, path);
  }

  async close(): Promise<void> {
    this.flushNow();
    this.db.close();
  }

  /** Queues a mutation for the next group commit; resolves once its transaction is durable. */
  private write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushNow());
      }
    });
  }

  private flushNow(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.transaction(() => {
        for (const op of batch) {
          try {
            // A nested transaction is a savepoint: a failing op rolls back alone.
            outcomes.push({ ok: true, value: this.db.transaction(op.run)() });
          } catch (err) {
            // SQLite may answer some failures (a full disk among them) by rolling back the whole
            // transaction; the ops after this one would then commit on their own, outside it.
            if (!this.db.inTransaction) throw err;
            outcomes.push({ ok: false, value: err });
          }
        }
      })();
      this.committedBatches++;
    } catch (err) {
      this.fail(batch.map((op) => ({ op, err })));
      return;
    }
    const failed: { op: QueuedWrite; err: unknown }[] = [];
    batch.forEach((op, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) op.resolve(outcome.value);
      else failed.push({ op, err: outcome.value });
    });
    if (failed.length > 0) this.fail(failed);
  }

  /** Rejects failed writes, but queues those a full disk failed once more when space could be freed. */
  private fail(failed: { op: QueuedWrite; err: unknown }[]): void {
    let freed: boolean | undefined;
    for (const { op, err } of failed) {
      if (!op.retried && isDiskFullError(err)) {
        freed ??= this.onDiskFull?.() ?? false;
        if (freed) {
          op.retried = true;
          this.queue.push(op);
          continue;
        }
      }
      op.reject(err);
    }
    if (this.queue.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushNow());
    }
  }

  async getSetting(name: string): Promise<string | undefined> {
    return this.stmts.getSetting.get(name) as string | undefined;
  }

  async putSetting(name: string, value: string): Promise<void> {
    this.stmts.putSetting.run(name, value);
  }

  async putAccount(a: AccountRecord): Promise<void> {
    this.stmts.putAccount.run(a.accountId, a.canonicalId, a.displayName, a.createdAt.getTime());
  }

  async getAccount(accountId: string): Promise<AccountRecord | undefined> {
    const row = this.stmts.getAccount.get(accountId) as AccountRow | undefined;
    return row && accountFromRow(row);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (this.stmts.listAccounts.all() as AccountRow[]).map(accountFromRow);
  }

  async putAccessKey(k: AccessKeyRecord): Promise<void> {
    this.stmts.putAccessKey.run(k.accessKeyId, k.secretAccessKey, k.accountId, k.createdAt.getTime());
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const row = this.stmts.getAccessKey.get(accessKeyId) as AccessKeyRow | undefined;
    return row && accessKeyFromRow(row);
  }

  async listAccessKeys(accountId: string): Promise<AccessKeyRecord[]> {
    return (this.stmts.listAccessKeys.all(accountId) as AccessKeyRow[]).map(accessKeyFromRow);
  }

  deleteAccessKey(accessKeyId: string): Promise<boolean> {
    return this.write(() => this.stmts.deleteAccessKey.run(accessKeyId).changes === 1);
  }

  createBucket(b: BucketRecord, configs: BucketConfigRow[] = []): Promise<boolean> {
    return this.write(() => {
      if (this.stmts.insertBucket.run(b.name, b.id, b.ownerAccountId, b.region, b.createdAt.getTime(), b.versioning ?? null).changes !== 1) return false;
      for (const c of configs) this.stmts.putConfig.run(b.name, c.kind, c.id, c.json);
      return true;
    });
  }

  async getBucket(name: string): Promise<BucketRecord | undefined> {
    return this.bucketRow(name);
  }

  private bucketRow(name: string): BucketRecord | undefined {
    const row = this.stmts.getBucket.get(name) as BucketRow | undefined;
    return row && bucketFromRow(row);
  }

  async listBuckets(ownerAccountId: string): Promise<BucketRecord[]> {
    return (this.stmts.listBuckets.all(ownerAccountId) as BucketRow[]).map(bucketFromRow);
  }

  /** Inside a write transaction: refuses the write when `bucket` is not the bucket of that name now. */
  private checkBucket(bucket: BucketRef): void {
    if (this.stmts.bucketId.get(bucket.name) !== bucket.id) throw new BucketGoneError(bucket.name);
  }

  deleteBucket(bucket: BucketRef): Promise<{ deleted: boolean; parts: PartRecord[] }> {
    const name = bucket.name;
    return this.write(() => {
      this.checkBucket(bucket);
      if (this.stmts.bucketHasVersions.get(name) !== undefined) return { deleted: false, parts: [] };
      const parts: PartRecord[] = [];
      for (const uploadId of this.stmts.uploadsOfBucket.all(name) as string[]) parts.push(...this.removeUpload(uploadId));
      this.stmts.deleteBucketConfigsOf.run(name);
      this.stmts.dropAllChanges.run(name);
      this.stmts.dropChangeLog.run(name);
      this.stmts.deleteBucket.run(name);
      return { deleted: true, parts };
    });
  }

  private removeUpload(uploadId: string): PartRecord[] {
    const parts = (this.stmts.allParts.all(uploadId) as PartRow[]).map(partFromRow);
    this.stmts.deleteParts.run(uploadId);
    this.stmts.deleteUploadRow.run(uploadId);
    return parts;
  }

  updateBucket(bucket: BucketRef, patch: Partial<Omit<BucketRecord, "name" | "id">>): Promise<void> {
    return this.write(() => {
      this.checkBucket(bucket);
      const current = this.bucketRow(bucket.name)!;
      const next = { ...current, ...patch };
      this.stmts.updateBucket.run(next.ownerAccountId, next.region, next.createdAt.getTime(), next.versioning ?? null, bucket.name);
    });
  }

  putVersion(bucket: BucketRef, r: Omit<ObjectVersionRecord, "isLatest">, condition?: WriteCondition): Promise<DeletedVersions> {
    const origin = changeOrigins.getStore();
    return this.write(() => {
      this.checkBucket(bucket);
      if (condition) condition(this.latest(r.bucket, r.key));
      return this.insertLatest(bucket, r, origin);
    });
  }

  putVersions(bucket: BucketRef, records: Omit<ObjectVersionRecord, "isLatest">[]): Promise<DeletedVersions> {
    const origin = changeOrigins.getStore();
    return this.write(() => {
      this.checkBucket(bucket);
      return { removed: records.flatMap((r) => this.insertLatest(bucket, r, origin).removed) };
    });
  }

  /** Inside a write transaction: logs the change when the bucket keeps a change log. */
  private logChange(bucket: string, change: () => PendingChange): void {
    if (this.stmts.logsChanges.get(bucket, CHANGE_LOG_KIND) === undefined) return;
    const c = change();
    const seq = (this.stmts.lastChangeSeq.get({ bucket }) as number) + 1;
    this.stmts.insertChange.run(bucket, seq, c.key, c.versionId, c.kind, c.at, c.body);
  }

  async listChanges(bucket: BucketRef, afterSeq: number, limit: number): Promise<VersionChange[]> {
    const changes: VersionChange[] = [];
    for (let from = afterSeq; ; ) {
      const want = Math.min(CHANGE_PAGE, limit - changes.length);
      // Checked in the same synchronous step as the page is read: no write comes in between.
      if (this.stmts.bucketId.get(bucket.name) !== bucket.id) return changes;
      const rows = this.stmts.listChanges.all(bucket.name, from, want) as Parameters<typeof changeOfRow>[0][];
      for (const row of rows) changes.push(changeOfRow(row));
      if (rows.length < want || changes.length >= limit) return changes;
      from = changes[changes.length - 1]!.seq;
      await yieldToRequests();
    }
  }

  async lastChangeSeq(bucket: string): Promise<number> {
    return this.stmts.lastChangeSeq.get({ bucket }) as number;
  }

  async dropChanges(bucket: BucketRef, throughSeq: number): Promise<void> {
    // A page per transaction: dropping is idempotent, so a crash between pages leaves only entries
    // the next pass drops; no reader reads at or below throughSeq again.
    let dropped: number;
    do dropped = await this.write(() => (this.stmts.bucketId.get(bucket.name) === bucket.id ? this.dropChangesThrough(bucket.name, throughSeq, CHANGE_PAGE) : 0));
    while (dropped === CHANGE_PAGE);
  }

  /** Inside a write transaction: drops entries (the first `limit` of them), keeping the numbering for when none is left. */
  private dropChangesThrough(bucket: string, throughSeq: number, limit?: number): number {
    this.stmts.keepChangeSeq.run(bucket, Math.min(throughSeq, this.stmts.lastChangeSeq.get({ bucket }) as number));
    const dropped = limit === undefined ? this.stmts.dropChanges.run(bucket, throughSeq) : this.stmts.dropChangesPage.run({ bucket, through: throughSeq, limit });
    return dropped.changes;
  }

  private insertLatest(bucket: BucketRef, r: Omit<ObjectVersionRecord, "isLatest">, origin: ChangeOrigin | undefined): DeletedVersions {
    if (r.bucket !== bucket.name) throw new Error(`a version of ${r.bucket} written as one of ${bucket.name}`);
    {
      const removed: ObjectVersionRecord[] = [];
      if (r.versionId === "null") {
        const existing = this.stmts.getVersionFull.get(r.bucket, r.key, "null") as VersionRow | undefined;
        if (existing) removed.push(this.removeVersionRow(existing));
      }
      if (r.body?.kind === "parts" && r.partsCount === 0) throw new Error("a multipart body needs partsCount > 0");
      this.stmts.clearLatest.run(r.bucket, r.key);
      const { lastInsertRowid } = this.stmts.insertVersion.run(
        r.bucket,
        r.key,
        r.versionId,
        r.isDeleteMarker ? 1 : 0,
        r.size,
        r.etag,
        r.lastModified.getTime(),
        r.storageClass,
        r.contentType ?? null,
        JSON.stringify(r.contentHeaders),
        JSON.stringify(r.userMetadata),
        r.ownerAccountId,
        r.partsCount,
        JSON.stringify(r.extra),
        r.body?.kind === "inline" ? r.body.data : null,
        r.body?.kind === "blob" ? r.body.blobId : null,
      );
      if (r.body?.kind === "parts") {
        for (const p of r.body.parts) this.stmts.insertVersionPart.run(lastInsertRowid, p.partNumber, p.blobId, p.size, p.checksum ?? null);
      }
      this.logChange(r.bucket, () => pendingChange("put", r.key, r.versionId, origin, changedVersion(r)));
      return { removed };
    }
  }

  /** A full record for a row read by a single-version statement (which selects seq). */
  private fullRecord(row: VersionRow): ObjectVersionRecord {
    if (!hasPartsBody(row)) return toRecord(row);
    const rows = this.stmts.versionParts.all(row.seq) as { part_number: number; blob_id: string; size: number; checksum: string | null }[];
    return toRecord(
      row,
      rows.map((p) => ({ partNumber: p.part_number, blobId: p.blob_id, size: p.size, ...(p.checksum === null ? {} : { checksum: p.checksum }) })),
    );
  }

  /** Deletes a version row read by a single-version statement, with its parts; returns its record. */
  private removeVersionRow(row: VersionRow): ObjectVersionRecord {
    const record = this.fullRecord(row);
    this.stmts.deleteVersionRow.run(row.bucket, row.key, row.version_id);
    this.stmts.deleteVersionParts.run(row.seq);
    return record;
  }

  async getLatest(bucket: string, key: string): Promise<ObjectVersionRecord | undefined> {
    return this.latest(bucket, key);
  }

  private latest(bucket: string, key: string): ObjectVersionRecord | undefined {
    const row = this.stmts.getLatestFull.get(bucket, key) as VersionRow | undefined;
    return row && this.fullRecord(row);
  }

  async getVersion(bucket: string, key: string, versionId: string): Promise<ObjectVersionRecord | undefined> {
    const row = this.stmts.getVersionFull.get(bucket, key, versionId) as VersionRow | undefined;
    return row && this.fullRecord(row);
  }

  deleteVersion(bucket: BucketRef, key: string, versionId: string, guard?: (current: ObjectVersionRecord) => void): Promise<DeletedVersions> {
    const origin = changeOrigins.getStore();
    return this.write(() => {
      this.checkBucket(bucket);
      const row = this.stmts.getVersionFull.get(bucket.name, key, versionId) as VersionRow | undefined;
      if (!row) return { removed: [] };
      if (guard) guard(this.fullRecord(row));
      const removed = this.removeVersionRow(row);
      if (row.is_latest === 1) this.stmts.promoteNewest.run(bucket.name, key);
      this.logChange(bucket.name, () => pendingChange("delete", key, versionId, origin));
      return { removed: [removed] };
    });
  }

  updateVersion(
    bucket: BucketRef,
    key: string,
    versionId: string,
    update: (current: ObjectVersionRecord) => VersionPatch | undefined,
  ): Promise<ObjectVersionRecord | undefined> {
    const origin = changeOrigins.getStore();
    return this.write(() => {
      this.checkBucket(bucket);
      const row = this.stmts.getVersionFull.get(bucket.name, key, versionId) as VersionRow | undefined;
      if (!row) return undefined;
      const current = this.fullRecord(row);
      const patch = update(current);
      if (patch === undefined) return current;
      const next = { ...current, ...patch };
      this.stmts.updateVersionFacts.run(JSON.stringify(next.extra), next.storageClass, row.seq);
      if (updateChanges(current, next)) {
        const before = { storageClass: current.storageClass, extra: current.extra };
        this.logChange(bucket.name, () => pendingChange("update", key, versionId, origin, changedVersion(next), before));
      }
      return next;
    });
  }

  async listCurrent(q: ListObjectsQuery): Promise<ObjectVersionRecord[]> {
    const prefix = q.prefix ?? "";
    const after = q.after ?? "";
    const upper = prefix === "" ? undefined : prefixUpperBound(prefix);
    const rows = (
      upper === undefined
        ? this.stmts.listCurrentOpen.all(q.bucket, after, prefix, q.limit)
        : this.stmts.listCurrentBounded.all(q.bucket, after, prefix, upper, q.limit)
    ) as VersionRow[];
    return rows.map((r) => toRecord(r));
  }

  async countVersions(bucket: string): Promise<number> {
    return this.stmts.countVersions.get(bucket) as number;
  }

  async bucketCounts(): Promise<BucketCounts[]> {
    return this.stmts.bucketCounts.all() as BucketCounts[];
  }

  async sizeBytes(): Promise<number> {
    let total = 0;
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        total += statSync(this.path + suffix).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    return total;
  }

  async isBlobReferenced(blobId: string): Promise<boolean> {
    return this.stmts.blobReferenced.get(blobId, blobId, blobId) !== undefined;
  }

  putBucketConfig(ref: BucketRef | string, kind: string, id: string, json: string, maxCount?: number): Promise<boolean> {
    const bucket = typeof ref === "string" ? ref : ref.name;
    return this.write(() => {
      if (typeof ref !== "string") this.checkBucket(ref);
      if (maxCount !== undefined && this.stmts.getConfig.get(bucket, kind, id) === undefined) {
        if ((this.stmts.countConfigs.get(bucket, kind) as number) >= maxCount) return false;
      }
      this.stmts.putConfig.run(bucket, kind, id, json);
      return true;
    });
  }

  replaceBucketConfig(ref: BucketRef | string, kind: string, id: string, expectedJson: string, json: string): Promise<boolean> {
    const bucket = typeof ref === "string" ? ref : ref.name;
    return this.write(() => {
      if (typeof ref !== "string") this.checkBucket(ref);
      return this.stmts.replaceConfig.run(json, bucket, kind, id, expectedJson).changes === 1;
    });
  }

  addBucketConfig(ref: BucketRef | string, kind: string, id: string, json: string): Promise<boolean> {
    const bucket = typeof ref === "string" ? ref : ref.name;
    return this.write(() => {
      if (typeof ref !== "string") this.checkBucket(ref);
      return this.stmts.addConfig.run(bucket, kind, id, json).changes === 1;
    });
  }

  async getBucketConfig(bucket: string, kind: string, id: string): Promise<string | undefined> {
    return this.stmts.getConfig.get(bucket, kind, id) as string | undefined;
  }

  async listBucketConfigs(bucket: string, kind: string, after: string | undefined, limit: number): Promise<{ id: string; json: string }[]> {
    return this.stmts.listConfigs.all(bucket, kind, after ?? "", limit) as { id: string; json: string }[];
  }

  async listBucketConfigsDescending(bucket: string, kind: string, before: string | undefined, limit: number): Promise<{ id: string; json: string }[]> {
    const rows = before === undefined ? this.stmts.listAllConfigsDescending.all(bucket, kind, limit) : this.stmts.listConfigsDescending.all(bucket, kind, before, limit);
    return rows as { id: string; json: string }[];
  }

  async countBucketConfigs(bucket: string, kind: string): Promise<number> {
    return this.stmts.countConfigs.get(bucket, kind) as number;
  }

  deleteBucketConfig(ref: BucketRef | string, kind: string, id: string): Promise<boolean> {
    return this.write(() => {
      if (typeof ref !== "string") this.checkBucket(ref);
      const bucket = typeof ref === "string" ? ref : ref.name;
      const deleted = this.stmts.deleteConfig.run(bucket, kind, id).changes === 1;
      if (deleted && kind === CHANGE_LOG_KIND) this.dropChangesThrough(bucket, Number.MAX_SAFE_INTEGER);
      return deleted;
    });
  }

  async listConfigsOfKind(kind: string, after: { bucket: string; id: string } | undefined, limit: number): Promise<{ bucket: string; id: string; json: string }[]> {
    return this.stmts.listConfigsOfKind.all(kind, after?.bucket ?? "", after?.id ?? "", limit) as { bucket: string; id: string; json: string }[];
  }

  async listVersions(q: ListVersionsQuery): Promise<ObjectVersionRecord[]> {
    const prefix = q.prefix ?? "";
    const rows: VersionRow[] = [];
    const afterKey = q.keyMarker ?? "";
    if (q.keyMarker !== undefined && q.versionIdMarker !== undefined) {
      // Continue inside the marker key, with the versions older than the marker version.
      const seq = this.stmts.seqOf.get(q.bucket, q.keyMarker, q.versionIdMarker) as number | undefined;
      if (seq !== undefined) rows.push(...(this.stmts.listVersionsOfKeyBefore.all(q.bucket, q.keyMarker, seq, q.limit) as VersionRow[]));
    }
    if (rows.length < q.limit) {
      rows.push(...(this.stmts.listVersionsFrom.all(q.bucket, afterKey, prefix, q.limit - rows.length) as VersionRow[]));
    }
    return rows.filter((r) => r.key.startsWith(prefix)).map((r) => toRecord(r));
  }

  createUpload(bucket: BucketRef, u: UploadRecord): Promise<void> {
    return this.write(() => {
      this.checkBucket(bucket);
      this.stmts.insertUpload.run(
        u.uploadId,
        u.bucket,
        u.key,
        u.initiated.getTime(),
        u.ownerAccountId,
        u.storageClass,
        u.contentType ?? null,
        JSON.stringify(u.contentHeaders),
        JSON.stringify(u.userMetadata),
        u.checksumAlgorithm ?? null,
        u.checksumType ?? null,
        JSON.stringify(u.extra),
      );
    });
  }

  async getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined> {
    const row = this.stmts.getUpload.get(uploadId, bucket, key) as UploadRow | undefined;
    return row && uploadFromRow(row);
  }

  async listUploads(q: ListUploadsQuery): Promise<UploadRecord[]> {
    const prefix = q.prefix ?? "";
    const rows: UploadRow[] = [];
    if (q.keyMarker !== undefined && q.uploadIdMarker !== undefined) {
      const marker = this.stmts.uploadById.get(q.uploadIdMarker) as UploadRow | undefined;
      if (marker && marker.key === q.keyMarker) {
        rows.push(...(this.stmts.listUploadsOfKeyAfter.all(q.bucket, q.keyMarker, marker.initiated, marker.upload_id, q.limit) as UploadRow[]));
      }
    }
    if (rows.length < q.limit) rows.push(...(this.stmts.listUploadsFrom.all(q.bucket, q.keyMarker ?? "", prefix, q.limit - rows.length) as UploadRow[]));
    return rows.filter((r) => r.key.startsWith(prefix)).map(uploadFromRow);
  }

  putPart(bucket: BucketRef, p: PartRecord): Promise<{ replaced?: PartRecord }> {
    return this.write(() => {
      this.checkBucket(bucket);
      if (!this.stmts.uploadById.get(p.uploadId)) throw new Error("NoSuchUpload");
      const old = this.stmts.getPart.get(p.uploadId, p.partNumber) as PartRow | undefined;
      this.stmts.putPart.run(p.uploadId, p.partNumber, p.size, p.etag, p.lastModified.getTime(), p.blobId, p.checksum ?? null);
      return { replaced: old && partFromRow(old) };
    });
  }

  async listParts(uploadId: string, after: number, limit: number): Promise<PartRecord[]> {
    return (this.stmts.listParts.all(uploadId, after, limit) as PartRow[]).map(partFromRow);
  }

  deleteUpload(uploadId: string): Promise<PartRecord[] | undefined> {
    return this.write(() => (this.stmts.uploadById.get(uploadId) ? this.removeUpload(uploadId) : undefined));
  }

  completeUpload(
    bucket: BucketRef,
    uploadId: string,
    record: Omit<ObjectVersionRecord, "isLatest">,
    condition?: WriteCondition,
  ): Promise<DeletedVersions & { parts: PartRecord[] }> {
    const origin = changeOrigins.getStore();
    return this.write(() => {
      this.checkBucket(bucket);
      if (!this.stmts.uploadById.get(uploadId)) throw new Error("NoSuchUpload");
      if (condition) condition(this.latest(record.bucket, record.key));
      const parts = this.removeUpload(uploadId);
      return { ...this.insertLatest(bucket, record, origin), parts };
    });
  }

  async scanVersions(bucket: string, prefix: string, currentOnly: boolean): Promise<VersionScan> {
    return new SqliteVersionScan(this.path, bucket, prefix, currentOnly);
  }

}

const dbPath = (dataDir: string): string => join(dataDir, "meta", "stocktake.db");

/** A snapshot scan without a store: for a worker thread that reads the database on its own. */
export function openVersionScan(dataDir: string, bucket: string, prefix: string, currentOnly: boolean, range: KeyRange = {}): VersionScan {
  return new SqliteVersionScan(dbPath(dataDir), bucket, prefix, currentOnly, range);
}

/**
 * Keys that cut a scan (bucket, prefix, current or all versions) into `parts` ranges of about the
 * same number of rows, for scanning them in parallel; empty when the scan has fewer than
 * `minRows` rows (not worth it). Costs a walk of the key index (no table reads), about a fifth
 * of a second per million versions, and reads the database as it is now: the scans themselves
 * must share one snapshot (see watchCommits).
 */
export function splitKeyRange(dataDir: string, bucket: string, prefix: string, currentOnly: boolean, parts: number, minRows: number): string[] {
  const db = new Database(dbPath(dataDir), { readonly: true });
  try {
    db.pragma("busy_timeout = 5000");
    const upper = prefixUpperBound(prefix);
    const where = `bucket = @bucket AND key >= @prefix ${upper === undefined ? "" : "AND key < CAST(@upper AS TEXT)"} ${currentOnly ? "AND is_latest = 1 AND is_delete_marker = 0" : ""}`;
    const params: Record<string, unknown> = { bucket, prefix, minRows };
    if (upper !== undefined) params.upper = upper;
    const enough = db.prepare(`SELECT count(*) FROM (SELECT 1 FROM versions WHERE ${where} LIMIT @minRows)`).pluck().get(params) as number;
    if (enough < minRows || parts < 2) return [];
    const total = db.prepare(`SELECT count(*) FROM versions WHERE ${where}`).pluck().get(params) as number;
    const at = db.prepare(`SELECT key FROM versions WHERE ${where} ORDER BY key LIMIT 1 OFFSET @offset`).pluck();
    const cuts: string[] = [];
    for (let i = 1; i < parts; i++) {
      const key = at.get({ ...params, offset: Math.floor((total * i) / parts) }) as string | undefined;
      // Cuts are keys (a key's versions stay together), ascending as the offsets are; a key with
      // many versions can come twice.
      if (key !== undefined && key !== cuts[cuts.length - 1]) cuts.push(key);
    }
    return cuts;
  } finally {
    db.close();
  }
}

/**
 * Watches for commits by any connection: `mark()` changes between two calls exactly when some
 * other connection committed in between (PRAGMA data_version on a connection of its own, never
 * inside a transaction). Scans opened between two equal marks read the same snapshot, which is
 * how parallel scans check that they agree, without holding up writers.
 */
export function watchCommits(dataDir: string): { mark(): number; close(): void } {
  const db = new Database(dbPath(dataDir), { readonly: true });
  db.pragma("busy_timeout = 5000");
  const version = db.prepare("PRAGMA data_version").pluck();
  return {
    mark: () => version.get() as number,
    close: () => db.close(),
  };
}

/** In VersionTuple order. */
const TUPLE_COLUMNS = "key, version_id, is_latest, is_delete_marker, size, etag, last_modified, storage_class, owner, parts_count, extra";

/** Page cache of a scan's own connection, in KiB: enough for the index and table paths it walks, a bounded part of the process's memory. */
const SCAN_CACHE_KIB = 16 * 1024;

/**
 * A scan on its own read-only connection holding one read transaction: WAL mode keeps that
 * snapshot stable while the server's connection goes on writing, and the scan never competes
 * with request handling for a statement on the main connection.
 *
 * One statement is stepped through from first row to last (no re-seek per batch), with raw rows.
 * All versions come in index order, key then seq ascending, and each key's run of versions is
 * reversed here: asking SQLite for `seq DESC` would add a sort step to every row.
 */
class SqliteVersionScan implements VersionScan {
  private readonly db: Database.Database;
  private rows: IterableIterator<unknown[]> | undefined;
  /** All versions: the versions of `groupKey` read so far, oldest first. */
  private group: VersionTuple[] = [];
  private groupKey: string | undefined;
  /** Versions read and ordered but not yet returned (a group larger than the batch). */
  private carry: VersionTuple[] = [];

  constructor(path: string, bucket: string, prefix: string, private readonly currentOnly: boolean, range: KeyRange = {}) {
    this.db = new Database(path, { readonly: true });
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma(`cache_size = -${SCAN_CACHE_KIB}`);
    const upper = prefixUpperBound(prefix);
    let bound = upper === undefined ? "" : "AND key < CAST(@upper AS TEXT)";
    if (range.from !== undefined) bound += " AND key >= @from";
    if (range.to !== undefined) bound += " AND key < @to";
    const stmt = currentOnly
      ? this.db.prepare(`SELECT ${TUPLE_COLUMNS} FROM versions
          WHERE bucket = @bucket AND is_latest = 1 AND is_delete_marker = 0 AND key >= @prefix ${bound}
          ORDER BY key`)
      : this.db.prepare(`SELECT ${TUPLE_COLUMNS} FROM versions
          WHERE bucket = @bucket AND key >= @prefix ${bound}
          ORDER BY key, seq`);
    const params: Record<string, unknown> = { bucket, prefix };
    if (upper !== undefined) params.upper = upper;
    if (range.from !== undefined) params.from = range.from;
    if (range.to !== undefined) params.to = range.to;
    this.db.exec("BEGIN");
    // The snapshot is taken by the first read, so take it now rather than at the first batch.
    this.db.prepare("SELECT 1 FROM versions LIMIT 1").get();
    this.rows = stmt.raw().iterate(params) as IterableIterator<unknown[]>;
  }

  async nextTuples(limit: number): Promise<VersionTuple[]> {
    return this.take(limit);
  }

  private take(limit: number): VersionTuple[] {
    let out = this.carry;
    if (out.length >= limit) {
      this.carry = out.slice(limit);
      return out.slice(0, limit);
    }
    this.carry = [];
    const rows = this.rows;
    if (rows === undefined) return out;
    if (this.currentOnly) {
      while (out.length < limit) {
        const r = rows.next();
        if (r.done) return this.end(out);
        out.push(r.value as VersionTuple);
      }
      return out;
    }
    let group = this.group;
    let groupKey = this.groupKey;
    while (out.length < limit) {
      const r = rows.next();
      if (r.done) break;
      const t = r.value as VersionTuple;
      if (t[0] === groupKey) {
        group.push(t);
        continue;
      }
      // A new key: the previous key's versions are complete; emit them newest first.
      if (group.length === 1) out.push(group[0]!);
      else if (group.length > 1) out = this.emitReversed(out, group, limit);
      group = [t];
      groupKey = t[0];
    }
    this.group = group;
    this.groupKey = groupKey;
    if (out.length < limit) {
      // The statement is done: so is the last key.
      out = this.emitReversed(out, group, limit);
      this.group = [];
      return this.end(out);
    }
    return out;
  }

  private emitReversed(out: VersionTuple[], group: VersionTuple[], limit: number): VersionTuple[] {
    for (let i = group.length - 1; i >= 0; i--) {
      if (out.length < limit) out.push(group[i]!);
      else this.carry.push(group[i]!);
    }
    return out;
  }

  private end(out: VersionTuple[]): VersionTuple[] {
    this.rows = undefined;
    return out;
  }

  async next(limit: number): Promise<VersionSummary[]> {
    return this.take(limit).map(summaryOfTuple);
  }

  async close(): Promise<void> {
    if (this.db.open) {
      // An unfinished iterator holds the statement; ending it frees the connection for COMMIT.
      this.rows?.return?.();
      this.rows = undefined;
      this.db.exec("COMMIT");
      this.db.close();
    }
  }
}

interface UploadRow {
  upload_id: string;
  bucket: string;
  key: string;
  initiated: number;
  owner: string;
  storage_class: string;
  content_type: string | null;
  content_headers: string;
  user_metadata: string;
  checksum_algorithm: string | null;
  checksum_type: string | null;
  extra: string;
}

function uploadFromRow(r: UploadRow): UploadRecord {
  return {
    uploadId: r.upload_id,
    bucket: r.bucket,
    key: r.key,
    initiated: new Date(r.initiated),
    ownerAccountId: r.owner,
    storageClass: r.storage_class,
    contentType: r.content_type ?? undefined,
    contentHeaders: JSON.parse(r.content_headers) as Record<string, string>,
    userMetadata: JSON.parse(r.user_metadata) as Record<string, string>,
    checksumAlgorithm: r.checksum_algorithm ?? undefined,
    checksumType: (r.checksum_type ?? undefined) as UploadRecord["checksumType"],
    extra: JSON.parse(r.extra) as Record<string, unknown>,
  };
}

interface PartRow {
  upload_id: string;
  part_number: number;
  size: number;
  etag: string;
  last_modified: number;
  blob_id: string;
  checksum: string | null;
}

function partFromRow(r: PartRow): PartRecord {
  return {
    uploadId: r.upload_id,
    partNumber: r.part_number,
    size: r.size,
    etag: r.etag,
    lastModified: new Date(r.last_modified),
    blobId: r.blob_id,
    checksum: r.checksum ?? undefined,
  };
}

interface AccountRow {
  account_id: string;
  canonical_id: string;
  display_name: string;
  created_at: number;
}

function accountFromRow(row: AccountRow): AccountRecord {
  return { accountId: row.account_id, canonicalId: row.canonical_id, displayName: row.display_name, createdAt: new Date(row.created_at) };
}

interface AccessKeyRow {
  access_key_id: string;
  secret: string;
  account_id: string;
  created_at: number;
}

function accessKeyFromRow(row: AccessKeyRow): AccessKeyRecord {
  return { accessKeyId: row.access_key_id, secretAccessKey: row.secret, accountId: row.account_id, createdAt: new Date(row.created_at) };
}

interface BucketRow {
  name: string;
  id: string;
  owner: string;
  region: string;
  created_at: number;
  versioning: string | null;
}

function bucketFromRow(row: BucketRow): BucketRecord {
  return {
    name: row.name,
    id: row.id,
    ownerAccountId: row.owner,
    region: row.region,
    createdAt: new Date(row.created_at),
    versioning: (row.versioning ?? undefined) as BucketRecord["versioning"],
  };
}

function migrate(db: Database.Database): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const current = (db.prepare("SELECT max(version) FROM schema_version").pluck().get() as number | null) ?? 0;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(v + 1);
    })();
  }
}
