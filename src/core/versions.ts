// How versions come and go, whoever changes them: a request (src/s3/), a replica (replication),
// a report (inventory) or an expiration (lifecycle). Every new version goes through
// commitVersions, so each gets the capabilities' commit facts and after-commit work (ctx.hooks)
// and frees the bodies it replaced; every delete goes through deleteObjectOrVersion, so object
// lock's guard decides inside the delete's transaction.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/versioning-workflows.html
import { createHash } from "node:crypto";
import type { BucketRecord, DeletedVersions, ObjectVersionRecord, WriteCondition } from "../storage/types.js";
import { releaseBodies } from "./bodies.js";
import type { Context, NewVersion } from "./context.js";
import { deleteGuard } from "./object-lock.js";

/** Set in the `extra` of a delete marker that lifecycle expiration (not a request) added. */
export const EXPIRED_BY_LIFECYCLE = "expiredByLifecycle";

let versionCounter = 0;
/** Version ids sort newest-last in creation order and are unique within the process' lifetime. */
export function newVersionId(): string {
  versionCounter = (versionCounter + 1) % 0x10000;
  const time = Date.now().toString(36).padStart(9, "0");
  return time + versionCounter.toString(36).padStart(4, "0") + createHash("sha256").update(Math.random().toString()).digest("base64url").slice(0, 19);
}

/** The id a new version of `bucket` gets: a fresh one while versioning is Enabled, else "null". */
export function versionIdFor(bucket: BucketRecord): string {
  return bucket.versioning === "Enabled" ? newVersionId() : "null";
}

/**
 * Stores new versions as every write does: the capabilities fix their commit facts on each record
 * (changing `extra`), `write` makes them durable (putVersion with a condition, putVersions,
 * completeUpload: the caller's store call, made synchronously once the facts are fixed), the
 * capabilities learn of each committed version, and the bodies the write replaced are released.
 * The new records' own bodies stay the caller's to release if the write fails.
 */
export async function commitVersions<R extends DeletedVersions>(
  ctx: Context,
  bucket: BucketRecord,
  records: NewVersion[],
  write: (records: NewVersion[]) => Promise<R>,
): Promise<R> {
  for (const record of records) await ctx.hooks.commitFacts(ctx, bucket, record);
  const result = await write(records);
  for (const record of records) ctx.hooks.versionCommitted(ctx, bucket, record);
  releaseBodies(ctx, result.removed);
  return result;
}

/** One new latest version, stored with putVersion (under `condition`, checked in the commit). */
export function commitVersion(ctx: Context, bucket: BucketRecord, record: NewVersion, condition?: WriteCondition): Promise<DeletedVersions> {
  return commitVersions(ctx, bucket, [record], ([r]) => ctx.metadata.putVersion(bucket, r!, condition));
}

/** Who deletes, for deleteObjectOrVersion. */
export interface Deleter {
  /** The account a delete marker is owned by. */
  owner: string;
  /** The request may remove versions under GOVERNANCE retention (see mayBypassGovernance). */
  bypassGovernance: boolean;
  /** Lifecycle expiration, not a request: S3 does not replicate the delete markers it adds. */
  lifecycle?: boolean;
  /**
   * Without a version id: delete only while this is still the key's current version (checked
   * inside the write), else throw LatestChanged. Lifecycle decides from a page read earlier, and a
   * PUT that came since is not the object its rule found due.
   */
  onlyIfLatest?: Pick<ObjectVersionRecord, "versionId" | "lastModified" | "etag">;
  /**
   * With a version id: delete it only while it is not the key's current version (checked inside
   * the delete), else throw LatestChanged. Lifecycle's noncurrent expiration: a version made
   * current again since (its successors deleted) is no longer what the rule found due.
   */
  onlyIfNoncurrent?: boolean;
}

/** deleteObjectOrVersion with onlyIfLatest or onlyIfNoncurrent: the key's current version changed since. */
export class LatestChanged extends Error {}

/**
 * S3's DeleteObject on one key: with a version id, removes that version for good (object lock's
 * guard refuses inside the transaction); without one, removes the null version of an unversioned
 * bucket, or adds a delete marker as the latest version of a versioned one.
 */
export async function deleteObjectOrVersion(
  ctx: Context,
  bucket: BucketRecord,
  key: string,
  versionId: string | undefined,
  by: Deleter,
): Promise<{ versionId?: string; deleteMarker: boolean }> {
  if (versionId !== undefined) {
    const existing = await ctx.metadata.getVersion(bucket.name, key, versionId);
    if (!existing) return { versionId, deleteMarker: false };
    const guard = deleteGuard(ctx, by.bypassGovernance);
    const { removed } = await ctx.metadata.deleteVersion(bucket, key, versionId, (current) => {
      if (by.onlyIfNoncurrent && current.isLatest) throw new LatestChanged(`${bucket.name}/${key}: version ${versionId} is current again`);
      guard(current);
    });
    releaseBodies(ctx, removed);
    return { versionId, deleteMarker: existing.isDeleteMarker };
  }
  const stillLatest: WriteCondition = (latest) => {
    const expected = by.onlyIfLatest;
    if (expected === undefined) return;
    const same = latest !== undefined && !latest.isDeleteMarker && latest.versionId === expected.versionId && latest.etag === expected.etag && latest.lastModified.getTime() === expected.lastModified.getTime();
    if (!same) throw new LatestChanged(`${bucket.name}/${key}: the current version changed`);
  };
  if (bucket.versioning === undefined) {
    const existing = await ctx.metadata.getVersion(bucket.name, key, "null");
    if (existing) {
      const guard = deleteGuard(ctx, by.bypassGovernance);
      const { removed } = await ctx.metadata.deleteVersion(bucket, key, "null", (current) => {
        stillLatest(current);
        guard(current);
      });
      releaseBodies(ctx, removed);
    } else stillLatest(undefined);
    return { deleteMarker: false };
  }
  const marker: NewVersion = {
    bucket: bucket.name,
    key,
    versionId: versionIdFor(bucket),
    isDeleteMarker: true,
    size: 0,
    etag: "",
    lastModified: ctx.clock.now(),
    storageClass: "STANDARD",
    contentHeaders: {},
    userMetadata: {},
    ownerAccountId: by.owner,
    partsCount: 0,
    extra: by.lifecycle ? { [EXPIRED_BY_LIFECYCLE]: true } : {},
    body: null,
  };
  await commitVersion(ctx, bucket, marker, stillLatest);
  return { versionId: marker.versionId, deleteMarker: true };
}
