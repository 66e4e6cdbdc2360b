// Where the capabilities beyond bodies and listings join the bucket and object paths: object lock,
// ownership and ACLs, tagging, Intelligent-Tiering and archive restores, lifecycle and replication.
// PutObject, CopyObject, the multipart operations, GET/HEAD and deletes call these hooks and
// nothing else of those capabilities, so each capability stays in its own module and a newcomer
// finds every place one of them touches a write or a read here.
import type { Principal, S3Request, ServerContext } from "../server/types.js";
import type { BucketConfigRow, BucketRecord, ObjectVersionRecord, UploadRecord } from "../storage/types.js";
import * as lock from "./object-lock.js";
import * as acl from "./acl.js";
import * as tagging from "./tagging.js";
import * as tiering from "../tiering/hooks.js";
import * as lifecycle from "../lifecycle/hooks.js";
import * as replication from "../replication/hooks.js";

type NewVersion = Omit<ObjectVersionRecord, "isLatest">;

/** What CreateBucket's headers ask of the new bucket beyond its name and region. */
export interface BucketCreation {
  /** Object lock forces versioning on from the start. */
  versioning?: "Enabled";
  /**
   * The settings the bucket starts with (lock configuration, ownership controls, ACL), stored in
   * the transaction that creates it: no request ever sees the bucket without them.
   */
  settings: BucketConfigRow[];
}

/** Validates CreateBucket's x-amz-bucket-object-lock-enabled, x-amz-object-ownership and ACL headers. */
export async function bucketCreation(req: S3Request, ctx: ServerContext): Promise<BucketCreation> {
  const fromLock = lock.lockOnCreateBucket(req);
  // Grants by id name accounts, which only the store can confirm.
  const fromAcl = await acl.aclOnCreateBucket(req, ctx);
  return { versioning: fromLock.versioning, settings: [...fromLock.settings, ...fromAcl.settings] };
}

/**
 * Before PutBucketVersioning changes the bucket's status: object lock and replication both need
 * versioning to stay enabled (InvalidBucketState otherwise).
 */
export async function checkVersioningChange(ctx: ServerContext, bucket: BucketRecord, status: "Enabled" | "Suspended"): Promise<void> {
  await lock.checkVersioningChange(ctx, bucket, status);
  await replication.checkVersioningChange(ctx, bucket, status);
}

/** What the request decides about a new version beyond its body and content headers. */
export interface RequestFacts {
  /** Merged into the version's `extra`. */
  extra: Record<string, unknown>;
  /** The account that will own the version (ownership controls decide: writer or bucket owner). */
  ownerAccountId: string;
}

/**
 * Reads and validates a write's x-amz-object-lock-*, x-amz-acl/x-amz-grant-* and x-amz-tagging
 * headers, before any body byte is read. `copySource` is the version CopyObject copies (its tags
 * are kept unless x-amz-tagging-directive is REPLACE). CreateMultipartUpload calls this too and
 * keeps the result for CompleteMultipartUpload.
 */
export async function requestFacts(req: S3Request, ctx: ServerContext, bucket: BucketRecord, copySource?: ObjectVersionRecord): Promise<RequestFacts> {
  const owned = await acl.aclFactsForWrite(req, ctx, bucket);
  return {
    extra: { ...(await lock.lockFactsForWrite(req, ctx, bucket)), ...owned.extra, ...tagging.tagFactsForWrite(req, copySource) },
    ownerAccountId: owned.ownerAccountId,
  };
}

/** Before UploadPart reads a part: an upload with object lock parameters needs a checksum on every part. */
export function beforePartUpload(req: S3Request, upload: UploadRecord): void {
  lock.checkPartChecksum(req, upload);
}

/**
 * Facts fixed at the moment a version (or a delete marker) is committed, whichever operation made
 * it: its replication status, its Intelligent-Tiering reference date. Changes `record.extra`.
 */
export async function commitFacts(ctx: ServerContext, bucket: BucketRecord, record: NewVersion): Promise<void> {
  await replication.replicationFactsOnCommit(ctx, bucket, record);
  tiering.tieringFactsOnCommit(ctx, bucket, record);
}

/** After the store has made the version durable: queue it for replication. */
export function versionCommitted(ctx: ServerContext, bucket: BucketRecord, record: NewVersion): void {
  replication.onVersionCommitted(ctx, bucket, record);
}

/** Headers a write's response adds for the new version (x-amz-expiration of a lifecycle rule). */
export function writeResponseHeaders(ctx: ServerContext, bucket: BucketRecord, record: NewVersion): Promise<Record<string, string>> {
  return lifecycle.expirationHeaders(ctx, bucket, record);
}

/**
 * Headers describing a version on GET and HEAD beyond content and encryption: object lock,
 * replication status, tag count, restore state, lifecycle expiration.
 */
export async function readResponseHeaders(ctx: ServerContext, bucket: BucketRecord, v: ObjectVersionRecord): Promise<Record<string, string>> {
  return {
    ...lock.lockHeaders(v),
    ...replication.replicationHeaders(v),
    ...tagging.taggingHeaders(v),
    ...tiering.restoreHeaders(v),
    ...(await lifecycle.expirationHeaders(ctx, bucket, v)),
  };
}

/**
 * Before a GET serves a version's bytes: an object in an archive tier or storage class that has
 * not been restored is refused (InvalidObjectState). Also records the access for tiering.
 */
export function beforeBodyRead(ctx: ServerContext, bucket: BucketRecord, v: ObjectVersionRecord): void {
  tiering.checkReadable(ctx, v);
  tiering.noteAccess(ctx, bucket, v);
}

/**
 * Checked inside the delete's transaction before a request permanently removes a version: object
 * lock refuses retained or held versions (unless governance is bypassed with permission, which
 * is decided before the write: a request's x-amz-bypass-governance-retention on `key`).
 */
export async function deleteGuard(req: S3Request | undefined, ctx: ServerContext, bucket: BucketRecord, key: string): Promise<(v: ObjectVersionRecord) => void> {
  return lock.deleteGuard(ctx, req !== undefined && (await lock.mayBypassGovernance(req, ctx, bucket, key)));
}

/**
 * For authorize(): whether the bucket's or the addressed object's ACL grants an action that
 * neither owning the bucket nor its policy allowed (false while ACLs are disabled).
 */
export function aclGrants(
  ctx: ServerContext,
  principal: Principal,
  bucket: BucketRecord,
  key: string | undefined,
  versionId: string | null | undefined,
): (action: string) => Promise<boolean> {
  return acl.aclGrants(ctx, principal, bucket, key, versionId);
}
