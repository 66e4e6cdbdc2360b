// Intelligent-Tiering and archive restores on the write and read paths (called from
// src/s3/capability-hooks.ts): a new version's tier facts, refusing to read archived bytes,
// counting a GET as an access, and the restore headers of GET and HEAD.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/intelligent-tiering-overview.html
import type { Context } from "../core/context.js";
import type { BucketRecord, ObjectVersionRecord, VersionPatch } from "../storage/types.js";
import { INTELLIGENT_TIERING, extraAfterAccess, isArchivedStorageClass, restoreHeaderValues, unreadable, type TieringFacts } from "./tiers.js";

/**
 * The bucket setting that tells the tiering pass a bucket holds (or held) Intelligent-Tiering or
 * archived objects, so the pass walks only those buckets. Written once, when the first such
 * object is written; it stays (a bucket that no longer has any costs one empty walk per pass).
 */
export const TIERED_OBJECTS_KIND = "tiering-objects";

function factsOf(v: Omit<ObjectVersionRecord, "isLatest">): TieringFacts {
  return { key: v.key, size: v.size, storageClass: v.storageClass, lastModified: v.lastModified.getTime(), extra: v.extra };
}

/**
 * Marks the bucket for the tiering pass. The setting is cached, so after the first object this is
 * a map lookup; nothing is awaited (the version's own write does not depend on it, and a
 * transition calls this inside its write transaction).
 */
export function markTieredBucket(ctx: Context, bucket: string): void {
  const since = ctx.clock.now().getTime();
  const mark = async () => {
    if ((await ctx.settings.get(bucket, TIERED_OBJECTS_KIND)) !== undefined) return;
    await ctx.settings.note(bucket, TIERED_OBJECTS_KIND, { since });
  };
  mark().catch((err: unknown) => {
    ctx.log.warn("could not mark a bucket for the tiering pass", { bucket, error: String(err) });
  });
}

/** A new Intelligent-Tiering version starts in Frequent Access, its no-access period now. */
export function tieringFactsOnCommit(ctx: Context, bucket: BucketRecord, record: Omit<ObjectVersionRecord, "isLatest">): void {
  if (record.isDeleteMarker) return;
  if (record.storageClass === INTELLIGENT_TIERING) {
    record.extra.accessTier = "FREQUENT";
    record.extra.tieringReferenceDate = ctx.clock.now().getTime();
  }
  if (record.storageClass === INTELLIGENT_TIERING || isArchivedStorageClass(record.storageClass)) markTieredBucket(ctx, bucket.name);
}

/**
 * The change a lifecycle transition makes to a version moving to `storageClass`: into
 * Intelligent-Tiering it starts in Frequent Access from now, out of it the tier facts go; a
 * restored copy never survives a change of class. Marks the bucket for the tiering pass.
 */
export function transitionPatch(ctx: Context, current: ObjectVersionRecord, storageClass: string): VersionPatch {
  const extra = { ...current.extra };
  delete extra.restore;
  delete extra.accessTier;
  delete extra.tieringReferenceDate;
  if (storageClass === INTELLIGENT_TIERING) {
    extra.accessTier = "FREQUENT";
    extra.tieringReferenceDate = ctx.clock.now().getTime();
  }
  if (storageClass === INTELLIGENT_TIERING || isArchivedStorageClass(storageClass)) markTieredBucket(ctx, current.bucket);
  return { storageClass, extra };
}

/** Refuses (403 InvalidObjectState) the bytes of an archived object that is not restored. */
export function checkReadable(ctx: Context, v: ObjectVersionRecord): void {
  if (v.storageClass !== INTELLIGENT_TIERING && !isArchivedStorageClass(v.storageClass)) return;
  const refused = unreadable(factsOf(v), ctx.clock.now().getTime());
  if (refused) throw refused;
}

/**
 * A GET (or a copy's read of its source) is an access: an Intelligent-Tiering object goes back to
 * Frequent Access and its no-access period starts again. Writes only when that changes something
 * worth recording (see ACCESS_NOTE_GRANULARITY_MS), never awaited, and never fails the read.
 */
export function noteAccess(ctx: Context, bucket: BucketRecord, v: ObjectVersionRecord): void {
  if (v.storageClass !== INTELLIGENT_TIERING) return;
  const now = ctx.clock.now().getTime();
  if (extraAfterAccess(factsOf(v), now) === undefined) return;
  ctx.metadata
    .updateVersion(bucket, v.key, v.versionId, (current) => {
      const extra = extraAfterAccess(factsOf(current), now);
      return extra === undefined ? undefined : { extra };
    })
    .catch((err: unknown) => {
      ctx.log.warn("could not record an Intelligent-Tiering access", { bucket: bucket.name, key: v.key, error: String(err) });
    });
}

/** x-amz-archive-status (Intelligent-Tiering archive tiers) and x-amz-restore. */
export function restoreHeaders(v: ObjectVersionRecord): Record<string, string> {
  if (v.storageClass !== INTELLIGENT_TIERING && !isArchivedStorageClass(v.storageClass)) return {};
  return restoreHeaderValues(factsOf(v));
}
