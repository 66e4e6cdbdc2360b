// How each report column is read from a version: one reader per field of the catalogue (the
// Record type makes a missing one a compile error), and the projection of a version onto a
// report's columns. Values follow the catalogue's kinds (see writers/types.ts).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html#storage-inventory-contents
import type { VersionSummary } from "../storage/types.js";
import type { InventoryField } from "./fields.js";
import type { InventoryValue } from "./writers/types.js";

export interface ProjectionContext {
  bucket: string;
  /** Canonical user id of an account, for ObjectOwner and the ACL column. */
  canonicalId(accountId: string): string;
}

type Reader = (v: VersionSummary, ctx: ProjectionContext) => InventoryValue;

const ifObject = (read: Reader): Reader => (v, ctx) => (v.isDeleteMarker ? null : read(v, ctx));

interface StoredEncryption {
  kind?: "SSE-S3" | "SSE-KMS" | "SSE-C" | "DSSE-KMS";
  bucketKeyEnabled?: boolean;
}

interface StoredLock {
  mode?: "GOVERNANCE" | "COMPLIANCE";
  retainUntil?: number;
  legalHold?: "ON" | "OFF";
  eventHold?: { status?: string; duration?: string };
}

const encryption = (v: VersionSummary) => v.extra.encryption as StoredEncryption | undefined;
const lock = (v: VersionSummary) => v.extra.lock as StoredLock | undefined;

/** The ACL column: S3 writes a base64 JSON document of the object's grants. */
function aclDocument(v: VersionSummary, ctx: ProjectionContext): string {
  const doc = {
    version: "2022-11-10",
    status: "AVAILABLE",
    grants: [{ canonicalId: ctx.canonicalId(v.ownerAccountId), type: "CanonicalUser", permission: "FULL_CONTROL" }],
  };
  return Buffer.from(JSON.stringify(doc)).toString("base64");
}

export const FIELD_READERS: Record<InventoryField["name"], Reader> = {
  Bucket: (_v, ctx) => ctx.bucket,
  Key: (v) => v.key,
  // The null version has no version id in a report.
  VersionId: (v) => (v.versionId === "null" ? null : v.versionId),
  IsLatest: (v) => v.isLatest,
  IsDeleteMarker: (v) => v.isDeleteMarker,
  Size: ifObject((v) => v.size),
  LastModifiedDate: (v) => v.lastModified,
  ETag: ifObject((v) => v.etag.replace(/"/g, "")),
  StorageClass: ifObject((v) => v.storageClass),
  IsMultipartUploaded: ifObject((v) => v.partsCount > 0),
  ReplicationStatus: ifObject((v) => (v.extra.replicationStatus as string | undefined) ?? null),
  EncryptionStatus: ifObject((v) => encryption(v)?.kind ?? "NOT-SSE"),
  ObjectLockRetainUntilDate: ifObject((v) => lock(v)?.retainUntil ?? null),
  ObjectLockMode: ifObject((v) => lock(v)?.mode ?? null),
  ObjectLockLegalHoldStatus: ifObject((v) => lock(v)?.legalHold ?? null),
  IntelligentTieringAccessTier: ifObject((v) =>
    v.storageClass === "INTELLIGENT_TIERING" ? ((v.extra.accessTier as string | undefined) ?? "FREQUENT") : null,
  ),
  BucketKeyStatus: ifObject((v) => {
    const e = encryption(v);
    return e?.kind === "SSE-KMS" || e?.kind === "DSSE-KMS" ? (e.bucketKeyEnabled ? "ENABLED" : "DISABLED") : null;
  }),
  ChecksumAlgorithm: ifObject((v) => ((v.extra.checksum as { algorithm?: string } | undefined)?.algorithm ?? null)),
  ObjectAccessControlList: ifObject(aclDocument),
  ObjectOwner: (v, ctx) => ctx.canonicalId(v.ownerAccountId),
  LifecycleExpirationDate: ifObject((v) => (v.extra.lifecycleExpiration as number | undefined) ?? null),
  ObjectLockEventHoldStatus: ifObject((v) => lock(v)?.eventHold?.status ?? null),
  ObjectLockEventHoldDuration: ifObject((v) => lock(v)?.eventHold?.duration ?? null),
  IntelligentTieringReferenceDate: ifObject((v) =>
    v.storageClass === "INTELLIGENT_TIERING" ? ((v.extra.tieringReferenceDate as number | undefined) ?? v.lastModified) : null,
  ),
};

/** Turns versions into rows of the given columns. */
export function projector(columns: readonly InventoryField[], ctx: ProjectionContext): (v: VersionSummary) => InventoryValue[] {
  const readers = columns.map((c) => FIELD_READERS[c.name]);
  return (v) => readers.map((read) => read(v, ctx));
}
