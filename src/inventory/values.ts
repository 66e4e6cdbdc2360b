// How each report column is read from a version: one reader per field of the catalogue (the
// Record type makes a missing one a compile error), and the projection of a version onto a
// report's columns. Values follow the catalogue's kinds (see writers/types.ts).
// Versions come packed (VersionTuple, straight from the scan), and `extra` is parsed only when a
// column that needs it is in the report, once per version.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html#storage-inventory-contents
import {
  VT_ETAG,
  VT_EXTRA,
  VT_IS_DELETE_MARKER,
  VT_IS_LATEST,
  VT_KEY,
  VT_LAST_MODIFIED,
  VT_OWNER,
  VT_PARTS_COUNT,
  VT_SIZE,
  VT_STORAGE_CLASS,
  VT_VERSION_ID,
  type VersionTuple,
} from "../storage/types.js";
import type { StoredEncryption } from "../storage/types.js";
import type { InventoryField } from "./fields.js";
import type { InventoryValue } from "./writers/types.js";

export interface ProjectionContext {
  bucket: string;
  /** Canonical user id of an account, for ObjectOwner and the ACL column. */
  canonicalId(accountId: string): string;
  /**
   * When the bucket's lifecycle rules will expire the version (epoch ms), or null; absent when the
   * bucket has no lifecycle configuration. Stateful: it must see every version of the scan in
   * order (it learns when a noncurrent version stopped being current from the one before it).
   */
  lifecycleExpiration?: (v: VersionTuple) => number | null;
}

type Reader = (v: VersionTuple, ctx: ProjectionContext) => InventoryValue;

const ifObject = (read: Reader): Reader => (v, ctx) => (v[VT_IS_DELETE_MARKER] === 1 ? null : read(v, ctx));

const NO_EXTRA: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * Recently parsed `extra` texts. Many versions carry the very same text (the same encryption and
 * checksum settings), and a lookup costs far less than JSON.parse. Readers never modify the
 * parsed objects, so versions may share them.
 */
const parsedExtras = new Map<string, Record<string, unknown>>();
const PARSED_EXTRAS_MAX = 4096;

/** The version's `extra`, parsed on first use and kept in the tuple for the next column. */
export function extraOf(v: VersionTuple): Record<string, unknown> {
  const x = v[VT_EXTRA];
  if (typeof x !== "string") return x;
  let parsed = x === "{}" ? NO_EXTRA : parsedExtras.get(x);
  if (parsed === undefined) {
    parsed = JSON.parse(x) as Record<string, unknown>;
    if (x.length <= 512) {
      if (parsedExtras.size >= PARSED_EXTRAS_MAX) parsedExtras.clear();
      parsedExtras.set(x, parsed);
    }
  }
  v[VT_EXTRA] = parsed;
  return parsed;
}

interface StoredLock {
  mode?: "GOVERNANCE" | "COMPLIANCE";
  retainUntil?: number;
  legalHold?: "ON" | "OFF";
  eventHold?: { status?: string; duration?: string };
}

/**
 * The opt-in archive tiers keep their API names (ARCHIVE_ACCESS, as in x-amz-archive-status) on
 * the version, but reports name them ARCHIVE and DEEP_ARCHIVE (INVENTORY-SPEC's value list).
 */
const REPORTED_TIER: Record<string, string> = { ARCHIVE_ACCESS: "ARCHIVE", DEEP_ARCHIVE_ACCESS: "DEEP_ARCHIVE" };

const encryption = (v: VersionTuple) => extraOf(v).encryption as StoredEncryption | undefined;

// The derivations below are shared with the report's summary (summary.ts), so that its counts by
// encryption, replication and multipart agree with the report's own columns. Object versions only:
// a delete marker has none of these columns.

/** The EncryptionStatus column of an object version. */
export const encryptionStatusOf = (v: VersionTuple): string => encryption(v)?.kind ?? "NOT-SSE";
/** The ReplicationStatus column of an object version (null: empty, never replicated). */
export const replicationStatusOf = (v: VersionTuple): string | null => (extraOf(v).replicationStatus as string | undefined) ?? null;
/** The IsMultipartUploaded column of an object version. */
export const isMultipartUploaded = (v: VersionTuple): boolean => v[VT_PARTS_COUNT] > 0;
const lock = (v: VersionTuple) => extraOf(v).lock as StoredLock | undefined;

/** A grant as src/s3/acl.ts stores it in `extra.acl`: a canonical user id or a group's URI. */
export interface StoredGrant {
  id?: string;
  uri?: string;
  permission: string;
}

/**
 * The grants a version stores, or undefined for the default ACL (its owner's FULL_CONTROL alone).
 * Most versions have none: their `extra` text is not parsed for this column.
 */
function storedGrants(v: VersionTuple): readonly StoredGrant[] | undefined {
  const x = v[VT_EXTRA];
  if (typeof x === "string" && !x.includes('"acl"')) return undefined;
  return extraOf(v).acl as StoredGrant[] | undefined;
}

/**
 * The ACL column: S3 writes a base64 JSON document of the object's grants (users by canonical id,
 * groups by URI).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/objectacl.html
 */
export function grantsDocument(grants: readonly StoredGrant[]): string {
  const doc = {
    version: "2022-11-10",
    status: "AVAILABLE",
    grants: grants.map((g) =>
      g.uri !== undefined ? { uri: g.uri, type: "Group", permission: g.permission } : { canonicalId: g.id, type: "CanonicalUser", permission: g.permission },
    ),
  };
  return Buffer.from(JSON.stringify(doc)).toString("base64");
}

/** The ACL column of a version with the default ACL: its owner's FULL_CONTROL. */
export function aclDocument(ownerCanonicalId: string): string {
  return grantsDocument([{ id: ownerCanonicalId, permission: "FULL_CONTROL" }]);
}

export const FIELD_READERS: Record<InventoryField["name"], Reader> = {
  Bucket: (_v, ctx) => ctx.bucket,
  Key: (v) => v[VT_KEY],
  // The null version has no version id in a report.
  VersionId: (v) => (v[VT_VERSION_ID] === "null" ? null : v[VT_VERSION_ID]),
  IsLatest: (v) => v[VT_IS_LATEST] === 1,
  IsDeleteMarker: (v) => v[VT_IS_DELETE_MARKER] === 1,
  Size: ifObject((v) => v[VT_SIZE]),
  LastModifiedDate: (v) => v[VT_LAST_MODIFIED],
  ETag: ifObject((v) => {
    // Stored quoted ("\"abc\""): the usual case is a slice rather than a regex replace.
    const etag = v[VT_ETAG];
    const last = etag.length - 1;
    if (last > 0 && etag.charCodeAt(0) === 0x22 && etag.indexOf('"', 1) === last) return etag.slice(1, last);
    return etag.replace(/"/g, "");
  }),
  StorageClass: ifObject((v) => v[VT_STORAGE_CLASS]),
  IsMultipartUploaded: ifObject(isMultipartUploaded),
  ReplicationStatus: ifObject(replicationStatusOf),
  EncryptionStatus: ifObject(encryptionStatusOf),
  ObjectLockRetainUntilDate: ifObject((v) => lock(v)?.retainUntil ?? null),
  ObjectLockMode: ifObject((v) => lock(v)?.mode ?? null),
  ObjectLockLegalHoldStatus: ifObject((v) => lock(v)?.legalHold ?? null),
  IntelligentTieringAccessTier: ifObject((v) => {
    if (v[VT_STORAGE_CLASS] !== "INTELLIGENT_TIERING") return null;
    const tier = (extraOf(v).accessTier as string | undefined) ?? "FREQUENT";
    return REPORTED_TIER[tier] ?? tier;
  }),
  // Real reports show DISABLED for SSE-S3 objects too (docs/inventory-engine.md); for unencrypted
  // and SSE-C objects no sample has been found, so they stay empty.
  BucketKeyStatus: ifObject((v) => {
    const e = encryption(v);
    if (e?.kind === "SSE-KMS" || e?.kind === "DSSE-KMS") return e.bucketKeyEnabled ? "ENABLED" : "DISABLED";
    return e?.kind === "SSE-S3" ? "DISABLED" : null;
  }),
  ChecksumAlgorithm: ifObject((v) => ((extraOf(v).checksum as { algorithm?: string } | undefined)?.algorithm ?? null)),
  ObjectAccessControlList: ifObject((v, ctx) => {
    const grants = storedGrants(v);
    return grants ? grantsDocument(grants) : aclDocument(ctx.canonicalId(v[VT_OWNER]));
  }),
  ObjectOwner: (v, ctx) => ctx.canonicalId(v[VT_OWNER]),
  LifecycleExpirationDate: (v, ctx) => (ctx.lifecycleExpiration === undefined ? null : ctx.lifecycleExpiration(v)),
  ObjectLockEventHoldStatus: ifObject((v) => lock(v)?.eventHold?.status ?? null),
  ObjectLockEventHoldDuration: ifObject((v) => lock(v)?.eventHold?.duration ?? null),
  IntelligentTieringReferenceDate: ifObject((v) =>
    v[VT_STORAGE_CLASS] === "INTELLIGENT_TIERING" ? ((extraOf(v).tieringReferenceDate as number | undefined) ?? v[VT_LAST_MODIFIED]) : null,
  ),
};

/**
 * A context whose canonical ids (a SHA-256 each) and ACL documents are computed once per owner:
 * a bucket has few owners and a report may have millions of rows.
 */
function memoized(ctx: ProjectionContext): ProjectionContext {
  const ids = new Map<string, string>();
  return {
    bucket: ctx.bucket,
    lifecycleExpiration: ctx.lifecycleExpiration,
    canonicalId(accountId) {
      let id = ids.get(accountId);
      if (id === undefined) {
        id = ctx.canonicalId(accountId);
        if (ids.size < 10_000) ids.set(accountId, id);
      }
      return id;
    },
  };
}

/** Turns versions into rows of the given columns. */
export function projector(columns: readonly InventoryField[], ctx: ProjectionContext): (v: VersionTuple) => InventoryValue[] {
  const memo = memoized(ctx);
  const acls = new Map<string, string>();
  // Versions with the same `extra` text share one parsed object (extraOf), so their grants too.
  const granted = new WeakMap<readonly StoredGrant[], string>();
  const readers = columns.map((c): Reader => {
    if (c.name !== "ObjectAccessControlList") return FIELD_READERS[c.name];
    return (v, cx) => {
      if (v[VT_IS_DELETE_MARKER] === 1) return null;
      const grants = storedGrants(v);
      if (grants) {
        let doc = granted.get(grants);
        if (doc === undefined) {
          doc = grantsDocument(grants);
          granted.set(grants, doc);
        }
        return doc;
      }
      const id = cx.canonicalId(v[VT_OWNER]);
      let doc = acls.get(id);
      if (doc === undefined) {
        doc = aclDocument(id);
        if (acls.size < 10_000) acls.set(id, doc);
      }
      return doc;
    };
  });
  const n = readers.length;
  return (v) => {
    const row = new Array<InventoryValue>(n);
    for (let i = 0; i < n; i++) row[i] = readers[i]!(v, memo);
    return row;
  };
}
