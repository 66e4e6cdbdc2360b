// The storage interface: records in, records out. No SQL, no file paths and no HTTP above this
// line. The embedded default (SQLite metadata + blob files) lives in ./sqlite-metadata.ts and
// ./file-blobs.ts; a networked metadata store would implement the same contracts.
import type { Readable } from "node:stream";

export interface AccountRecord {
  /** 12-digit AWS-style account id. */
  accountId: string;
  /** 64-hex canonical user id, as S3 shows in Owner/ID. */
  canonicalId: string;
  displayName: string;
  createdAt: Date;
}

export interface AccessKeyRecord {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
  createdAt: Date;
}

export type VersioningStatus = "Enabled" | "Suspended" | undefined;

export interface BucketRecord {
  name: string;
  /**
   * Tells this creation of the bucket from any later bucket of the same name: chosen at creation,
   * never reused. Writes name the bucket they began against by it (BucketRef).
   */
  id: string;
  ownerAccountId: string;
  region: string;
  createdAt: Date;
  versioning: VersioningStatus;
}

/**
 * The bucket a write began against. Every write that changes a bucket's contents or settings
 * takes one, and the store checks inside the write's own transaction that this very bucket still
 * exists: a write still in flight when its bucket is deleted (and perhaps created again by someone
 * else) fails with BucketGoneError and stores nothing.
 */
export type BucketRef = Pick<BucketRecord, "name" | "id">;

/** One stored bucket configuration: its sub-resource kind, id and the JSON of its model. */
export interface BucketConfigRow {
  kind: string;
  id: string;
  json: string;
}

/** A write named a bucket that has been deleted since the write began (see BucketRef). */
export class BucketGoneError extends Error {
  constructor(readonly bucket: string) {
    super(`the bucket ${bucket} was deleted while the request was in flight`);
    this.name = "BucketGoneError";
  }
}

/**
 * A conditional write's test (If-Match / If-None-Match), run inside the write's transaction
 * against the key's latest version (undefined when the key has none): it throws to refuse the
 * write, so two writers racing on one key cannot both pass.
 */
export type WriteCondition = (latest: ObjectVersionRecord | undefined) => void;

/** One part of a multipart object's body: a blob of its own, read in part-number order. */
export interface BodyPart {
  /** The number the part was uploaded with (numbers may have gaps; order is ascending). */
  partNumber: number;
  blobId: string;
  size: number;
  /** Base64 checksum of the part in the object's checksum algorithm, if it has one. */
  checksum?: string;
}

/**
 * Where an object's bytes live: inline in the metadata store (small objects), in one blob file,
 * or, for an object made by CompleteMultipartUpload, in its parts' blob files one after another
 * (completion links the parts' blobs instead of copying their bytes).
 */
export type BodyLocation =
  | { kind: "inline"; data: Buffer }
  | { kind: "blob"; blobId: string }
  | { kind: "parts"; parts: BodyPart[] };

/**
 * How a version is encrypted at rest, as recorded in its `extra.encryption` when it was written;
 * response headers and the inventory's EncryptionStatus/BucketKeyStatus columns read it.
 */
export interface StoredEncryption {
  kind: "SSE-S3" | "SSE-KMS" | "DSSE-KMS" | "SSE-C";
  /** The KMS key's ARN, for SSE-KMS and DSSE-KMS. */
  keyId?: string;
  bucketKeyEnabled?: boolean;
  /** SSE-C: the base64 MD5 of the customer's key (the key itself is never stored). */
  customerKeyMd5?: string;
}

export interface ObjectVersionRecord {
  bucket: string;
  key: string;
  /** "null" for the null version written while versioning is off or suspended. */
  versionId: string;
  isDeleteMarker: boolean;
  isLatest: boolean;
  size: number;
  /** Quoted, as S3 sends it in the ETag header: "\"d41d8cd98f00b204e9800998ecf8427e\"". */
  etag: string;
  lastModified: Date;
  storageClass: string;
  contentType?: string;
  /** Other stored content headers: content-encoding, content-disposition, cache-control, ... */
  contentHeaders: Record<string, string>;
  /** x-amz-meta-* values, keyed by the lower-case name without the prefix. */
  userMetadata: Record<string, string>;
  ownerAccountId: string;
  /** Number of parts when created by CompleteMultipartUpload; 0 for a single PUT. */
  partsCount: number;
  /** Extra object facts owned by later capabilities (checksums, encryption, lock, tags...). */
  extra: Record<string, unknown>;
  body: BodyLocation | null;
}

export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: Date;
  ownerAccountId: string;
  storageClass: string;
  contentType?: string;
  contentHeaders: Record<string, string>;
  userMetadata: Record<string, string>;
  /** The checksum algorithm the upload was created with (x-amz-checksum-algorithm), if any. */
  checksumAlgorithm?: string;
  checksumType?: "COMPOSITE" | "FULL_OBJECT";
  extra: Record<string, unknown>;
}

export interface PartRecord {
  uploadId: string;
  partNumber: number;
  size: number;
  /** Quoted MD5 of the part. */
  etag: string;
  lastModified: Date;
  blobId: string;
  /** Base64 checksum of the part in the upload's algorithm, if it has one. */
  checksum?: string;
}

export interface ListUploadsQuery {
  bucket: string;
  prefix?: string;
  /** Uploads of keys after this key, or of this key initiated after uploadIdMarker. */
  keyMarker?: string;
  uploadIdMarker?: string;
  limit: number;
}

export interface ListVersionsQuery {
  bucket: string;
  prefix?: string;
  /** Versions of keys after this key, or of this key older than versionIdMarker. */
  keyMarker?: string;
  versionIdMarker?: string;
  limit: number;
}

export interface BucketCounts {
  bucket: string;
  /** Every version, delete markers included. */
  versions: number;
  /** Latest versions that are not delete markers: what ListObjects shows. */
  objects: number;
}

/** What an inventory report needs of one version: no bodies, no content headers. */
export interface VersionSummary {
  key: string;
  versionId: string;
  isLatest: boolean;
  isDeleteMarker: boolean;
  size: number;
  etag: string;
  /** Epoch milliseconds. */
  lastModified: number;
  storageClass: string;
  ownerAccountId: string;
  partsCount: number;
  extra: Record<string, unknown>;
}

/**
 * The facts of a VersionSummary packed into an array, for scans that read millions of versions
 * (an inventory report): no object per version and `extra` left as its stored JSON text until a
 * reader needs it. Index with the VT_* constants. A reader that parses `extra` may store the
 * parsed object back in its slot (see extraOf in inventory/values.ts).
 */
export type VersionTuple = [
  key: string,
  versionId: string,
  /** 1 or 0 */
  isLatest: number,
  /** 1 or 0 */
  isDeleteMarker: number,
  size: number,
  etag: string,
  /** Epoch milliseconds. */
  lastModified: number,
  storageClass: string,
  ownerAccountId: string,
  partsCount: number,
  extra: string | Record<string, unknown>,
];

/** A VersionTuple as a VersionSummary (its `extra` parsed). */
export function summaryOfTuple(t: VersionTuple): VersionSummary {
  return {
    key: t[0],
    versionId: t[1],
    isLatest: t[2] === 1,
    isDeleteMarker: t[3] === 1,
    size: t[4],
    etag: t[5],
    lastModified: t[6],
    storageClass: t[7],
    ownerAccountId: t[8],
    partsCount: t[9],
    extra: typeof t[10] !== "string" ? t[10] : t[10] === "{}" ? {} : (JSON.parse(t[10]) as Record<string, unknown>),
  };
}

export const VT_KEY = 0;
export const VT_VERSION_ID = 1;
export const VT_IS_LATEST = 2;
export const VT_IS_DELETE_MARKER = 3;
export const VT_SIZE = 4;
export const VT_ETAG = 5;
export const VT_LAST_MODIFIED = 6;
export const VT_STORAGE_CLASS = 7;
export const VT_OWNER = 8;
export const VT_PARTS_COUNT = 9;
export const VT_EXTRA = 10;

/** A key range of a scan: keys >= from (when given) and < to (when given). */
export interface KeyRange {
  from?: string;
  to?: string;
}

/**
 * A point-in-time read of one bucket's versions: every batch comes from the same snapshot, however
 * long the scan takes and whatever is written meanwhile. Must be closed.
 */
export interface VersionScan {
  /** The next versions (at most `limit`) in key order, newest first within a key; empty when the scan is done. */
  next(limit: number): Promise<VersionSummary[]>;
  /** As next(), packed (the two may be mixed; each version comes once). */
  nextTuples(limit: number): Promise<VersionTuple[]>;
  close(): Promise<void>;
}

export interface ListObjectsQuery {
  bucket: string;
  prefix?: string;
  /** Return only keys strictly greater (in UTF-8 byte order) than this. */
  after?: string;
  limit: number;
}

/** What a write must do to the bucket's versions, decided by the capability module. */
export interface PutVersionInput {
  record: Omit<ObjectVersionRecord, "isLatest">;
}

/**
 * What updateVersion may change on an existing version: the facts later capabilities keep in
 * `extra` (retention, legal hold, ACL, tags, replication status, access tier...) and its storage
 * class (tiering, restore). Key, version id, body and dates never change after a write.
 */
export interface VersionPatch {
  /** Replaces the version's `extra` as a whole (read the current one in the update function). */
  extra?: Record<string, unknown>;
  storageClass?: string;
}

export interface DeletedVersions {
  /** Records removed from the store: their bodies are garbage and must be released. */
  removed: ObjectVersionRecord[];
}

/**
 * The bucket configuration kind whose presence makes the store keep a bucket's change log (an S3
 * Metadata configuration, src/metadata-tables/config.ts): while a bucket holds one, every change
 * to its versions is logged in the change's own transaction (src/storage/change-log.ts).
 */
export const CHANGE_LOG_KIND = "metadata-configuration";

/** Who made a change: the request's caller, address and id; the time the request was received. */
export interface ChangeOrigin {
  /** The caller's account id (or a service principal). */
  requester?: string;
  sourceIp?: string;
  requestId?: string;
  at?: Date;
}

/** put: a version or delete marker was stored; delete: a version was removed for good; update: its storage class or `extra` changed. */
export type VersionChangeKind = "put" | "delete" | "update";

/** The facts of a version a change log entry keeps. */
export interface ChangedVersion {
  isDeleteMarker: boolean;
  size: number;
  etag: string;
  /** Epoch milliseconds. */
  lastModified: number;
  storageClass: string;
  partsCount: number;
  userMetadata: Record<string, string>;
  extra: Record<string, unknown>;
}

/** One entry of a bucket's change log. */
export interface VersionChange {
  /**
   * Increasing, not always without gaps. Two changes that touch the same version row (or both
   * change which version of a key is latest) wait for each other, so the later one has the higher
   * number; others may commit out of number order, which the mark (lastChangeSeq) hides from readers.
   */
  seq: number;
  key: string;
  versionId: string;
  kind: VersionChangeKind;
  /** Epoch milliseconds: when the request that made it was received (else when it was made). */
  at: number;
  /** The version after the change (put, update); none for a permanent delete. */
  version?: ChangedVersion;
  /** update: what it was before. */
  before?: { storageClass: string; extra: Record<string, unknown> };
  /** Absent for S3's own changes (lifecycle, replication, report files). */
  origin?: Omit<ChangeOrigin, "at">;
}

/**
 * Metadata store contract. Every call returns a promise, so that an engine reached over the
 * network implements it as well as the embedded SQLite one (whose reads resolve at once).
 * - Keys compare in UTF-8 byte order everywhere (listing, pagination).
 * - Every mutating call is atomic and durable when its promise resolves: an acknowledged write
 *   survives kill -9 and power loss (on a disk that honours fsync).
 * - Reads see committed data only.
 */
export interface MetadataStore {
  close(): Promise<void>;

  // Accounts and keys
  putAccount(account: AccountRecord): Promise<void>;
  getAccount(accountId: string): Promise<AccountRecord | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  putAccessKey(key: AccessKeyRecord): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined>;
  /** The account's access keys, oldest first. */
  listAccessKeys(accountId: string): Promise<AccessKeyRecord[]>;
  /** Removes the key at once: a request signed with it is refused from then on. False when there was none. */
  deleteAccessKey(accessKeyId: string): Promise<boolean>;

  // Settings that must persist (the server's generated root credentials, schema version...)
  getSetting(name: string): Promise<string | undefined>;
  putSetting(name: string, value: string): Promise<void>;

  // Buckets
  /**
   * Creates the bucket, with the configurations it starts with (its lock, ownership controls, ACL)
   * in the same transaction; returns false (and changes nothing) when the name is taken.
   */
  createBucket(bucket: BucketRecord, configs?: BucketConfigRow[]): Promise<boolean>;
  getBucket(name: string): Promise<BucketRecord | undefined>;
  /** Buckets owned by the account, sorted by name. */
  listBuckets(ownerAccountId: string): Promise<BucketRecord[]>;
  /**
   * Deletes the bucket when it holds no versions; its unfinished multipart uploads go with it and
   * their parts are returned so their blobs can be released. `deleted` is false when not empty.
   */
  deleteBucket(bucket: BucketRef): Promise<{ deleted: boolean; parts: PartRecord[] }>;
  updateBucket(bucket: BucketRef, patch: Partial<Omit<BucketRecord, "name" | "id">>): Promise<void>;

  // Objects
  /**
   * Stores a new version as the latest version of its key. When record.versionId is "null", any
   * existing "null" version of the key is replaced and returned in `removed`. `condition`, when
   * given, sees the key's latest version inside the write transaction and may throw to refuse.
   */
  putVersion(bucket: BucketRef, record: Omit<ObjectVersionRecord, "isLatest">, condition?: WriteCondition): Promise<DeletedVersions>;
  /** Stores several new versions in one transaction: all become visible together, or none. */
  putVersions(bucket: BucketRef, records: Omit<ObjectVersionRecord, "isLatest">[]): Promise<DeletedVersions>;
  /** The latest version of the key (possibly a delete marker), or undefined. */
  getLatest(bucket: string, key: string): Promise<ObjectVersionRecord | undefined>;
  getVersion(bucket: string, key: string, versionId: string): Promise<ObjectVersionRecord | undefined>;
  /**
   * Removes one version permanently; the previous one becomes latest. `guard`, when given, sees
   * the version inside the write transaction and may throw to refuse the delete (object lock).
   */
  deleteVersion(bucket: BucketRef, key: string, versionId: string, guard?: (current: ObjectVersionRecord) => void): Promise<DeletedVersions>;
  /**
   * Changes an existing version in one atomic read-modify-write: `update` sees the current record
   * inside the write transaction and returns the patch (or undefined to change nothing; it may
   * throw to refuse). Resolves with the record as stored afterwards, or undefined when there is
   * no such version. Never changes which version is latest.
   */
  updateVersion(
    bucket: BucketRef,
    key: string,
    versionId: string,
    update: (current: ObjectVersionRecord) => VersionPatch | undefined,
  ): Promise<ObjectVersionRecord | undefined>;
  /**
   * Current (latest, non-delete-marker) objects in key order. Inline and multipart bodies are not
   * loaded: records carry `body: null` unless the body is a single blob.
   */
  listCurrent(query: ListObjectsQuery): Promise<ObjectVersionRecord[]>;
  countVersions(bucket: string): Promise<number>;
  /**
   * Versions and current objects of every bucket that holds any, by bucket name. Kept as writes
   * commit, so it costs a row per bucket, never a count over the versions (read at every scrape).
   */
  bucketCounts(): Promise<BucketCounts[]>;
  /** Bytes the store occupies on disk (its files, journal included). */
  sizeBytes(): Promise<number>;
  /**
   * Every version and delete marker in S3's order: key ascending (UTF-8 bytes), then newest first.
   * Inline and multipart bodies are not loaded (as listCurrent).
   */
  listVersions(query: ListVersionsQuery): Promise<ObjectVersionRecord[]>;

  // The change log (CHANGE_LOG_KIND). Entries are numbered in increasing order, not always
  // without gaps, and read only up to a mark below which every entry has committed: a reader that
  // has taken entry N never finds one numbered below N later. Removed with the bucket, and emptied
  // (its numbering kept) when the configuration that asked for it is deleted. Read and dropped by
  // BucketRef: a bucket deleted and made again under its name (by anyone) starts a log of its own,
  // which a reader of the old one never reads nor drops.
  /**
   * Entries numbered above afterSeq and up to the current mark (lastChangeSeq), oldest first, at
   * most `limit`; none once `bucket` is not the bucket of that name (fewer, if that happens between pages).
   */
  listChanges(bucket: BucketRef, afterSeq: number, limit: number): Promise<VersionChange[]>;
  /**
   * The mark: every entry numbered up to it has committed or never will, and every later entry is
   * numbered above it (0 before the store ever logged a change).
   */
  lastChangeSeq(bucket: string): Promise<number>;
  /** Drops the entries up to and including throughSeq (every reader has taken them); nothing once `bucket` is not the bucket of that name. */
  dropChanges(bucket: BucketRef, throughSeq: number): Promise<void>;

  // Multipart uploads
  createUpload(bucket: BucketRef, upload: UploadRecord): Promise<void>;
  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined>;
  /** Unfinished uploads by key, then by initiation time. */
  listUploads(query: ListUploadsQuery): Promise<UploadRecord[]>;
  /**
   * Stores a part, replacing one with the same number (returned so its blob can be released).
   * Fails with "NoSuchUpload" when the upload is gone (completed or aborted meanwhile).
   */
  putPart(bucket: BucketRef, part: PartRecord): Promise<{ replaced?: PartRecord }>;
  /** Parts with a number above `after`, ascending. */
  listParts(uploadId: string, after: number, limit: number): Promise<PartRecord[]>;
  /** Removes the upload and its parts, returning the parts; undefined when there was no upload. */
  deleteUpload(uploadId: string): Promise<PartRecord[] | undefined>;
  /**
   * In one transaction: stores `record` as putVersion does and removes the upload with its parts.
   * Fails with "NoSuchUpload" when the upload is gone (completed or aborted concurrently).
   * `condition` is checked as for putVersion.
   */
  completeUpload(
    bucket: BucketRef,
    uploadId: string,
    record: Omit<ObjectVersionRecord, "isLatest">,
    condition?: WriteCondition,
  ): Promise<DeletedVersions & { parts: PartRecord[] }>;
  /**
   * Opens a snapshot scan of a bucket's versions under `prefix`: only current objects (latest and
   * not a delete marker) or every version and delete marker.
   */
  scanVersions(bucket: string, prefix: string, currentOnly: boolean): Promise<VersionScan>;
  /**
   * True when some version (as its single blob or as one of its parts) or some unfinished upload's
   * part still references the blob (used by the orphan sweep and before freeing a blob).
   */
  isBlobReferenced(blobId: string): Promise<boolean>;

  // Bucket sub-resource configurations (inventory, policy, lifecycle, ...), stored as the JSON of
  // their validated domain model, never as wire XML. `kind` names the sub-resource ("inventory").
  // Removed together with their bucket. A configuration a request sets is written with the
  // BucketRef the request was authorized against (checked as for object writes); records of our
  // own kept beside a bucket (inventory runs, schedules) or under a scope that is no bucket (KMS
  // keys) are written by plain name.
  /**
   * Creates or replaces a configuration. With `maxCount`, adding a new id to a bucket that already
   * has that many of this kind changes nothing and resolves false (checked inside the write).
   */
  putBucketConfig(bucket: BucketRef | string, kind: string, id: string, json: string, maxCount?: number): Promise<boolean>;
  /**
   * Compare-and-set: replaces the configuration only if it exists with exactly `expectedJson`
   * (checked inside the write); false, changing nothing, when it is gone or was changed meanwhile.
   */
  replaceBucketConfig(bucket: BucketRef | string, kind: string, id: string, expectedJson: string, json: string): Promise<boolean>;
  /**
   * Creates the configuration only if none has this id: false, changing nothing, when one does
   * (checked inside the write), so of several nodes adding one id exactly one succeeds.
   */
  addBucketConfig(bucket: BucketRef | string, kind: string, id: string, json: string): Promise<boolean>;
  getBucketConfig(bucket: string, kind: string, id: string): Promise<string | undefined>;
  /** Configurations with id > `after`, sorted by id (byte order), at most `limit`. */
  listBucketConfigs(
    bucket: string,
    kind: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ id: string; json: string }[]>;
  /** Configurations with id < `before` (all when undefined), sorted by id descending (byte order), at most `limit`. */
  listBucketConfigsDescending(bucket: string, kind: string, before: string | undefined, limit: number): Promise<{ id: string; json: string }[]>;
  countBucketConfigs(bucket: string, kind: string): Promise<number>;
  /** Returns false when no such configuration existed. */
  deleteBucketConfig(bucket: BucketRef | string, kind: string, id: string): Promise<boolean>;
  /**
   * Configurations of one kind across every bucket, after the pair `after`, sorted by bucket then
   * id (byte order), at most `limit`. Costs in proportion to the rows of that kind, not to the
   * number of buckets or of other configurations (the inventory scheduler's scan).
   */
  listConfigsOfKind(
    kind: string,
    after: { bucket: string; id: string } | undefined,
    limit: number,
  ): Promise<{ bucket: string; id: string; json: string }[]>;
}

export interface BlobWriter {
  /** Feed the bytes here. */
  readonly stream: NodeJS.WritableStream;
  /** Flushes the data to stable storage and makes the blob addressable; resolves with its id. */
  commit(): Promise<string>;
  /** Discards whatever was written. */
  abort(): Promise<void>;
}

/**
 * Blob store contract: immutable byte strings addressed by opaque ids chosen by the store.
 * Ids never derive from object keys. commit() resolves only after the data is durable.
 */
export interface BlobStore {
  create(): BlobWriter;
  /** Reads the inclusive byte range [start, end] (the whole blob when omitted). */
  read(blobId: string, range?: { start: number; end: number }): Readable;
  delete(blobId: string): Promise<void>;
  /**
   * Deletes blobs and temporary files that no live record references; on a directory shared by
   * several nodes, only what `shared` says no live node can still be working on.
   */
  sweep(isLive: (blobId: string) => Promise<boolean>, shared?: SharedSweep): Promise<number>;
}

/** What a sweep of a directory shared by several nodes must leave alone. */
export interface SharedSweep {
  /** The temporary directories (node ids) of the nodes alive now. */
  liveTmpNames: ReadonlySet<string>;
  /**
   * Files (and temporary directories) last written at or after this are kept even when nothing
   * references them yet: a live node may be about to commit one (an upload, a report's data file
   * that waits for its publish).
   */
  writtenBefore: Date;
}
