// The lifecycle pass: applies every bucket's lifecycle rules against the clock. Runs at start and
// then hourly (S3 runs lifecycle about once a day; an object whose day is due goes within the hour
// here). Each bucket's versions and uploads are walked in pages of PAGE_SIZE, so memory stays flat
// whatever the bucket size. Deletions go through the domain's deleteObjectOrVersion, so object
// lock's guard applies: a locked version is skipped (and retried on the next pass).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
import { S3Error } from "../errors.js";
import type { Context } from "../core/context.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";
import { deleteObjectOrVersion, LatestChanged } from "../core/versions.js";
import { configuredBucket, isCurrentBucket } from "../core/buckets.js";
import { releaseBodies } from "../core/bodies.js";
import { tagsOf } from "../core/tags.js";
import {
  compileLifecycle,
  currentExpiry,
  dueTransition,
  markerCleanupApplies,
  noncurrentExpiry,
  uploadAbortDue,
  type CompiledLifecycle,
} from "./expiration.js";
import { LIFECYCLE_KIND, type LifecycleConfiguration } from "./rules.js";
import { transitionPatch } from "../tiering/hooks.js";
import { performance } from "node:perf_hooks";

const PAGE_SIZE = 1000;
/** How often the pass runs after the one at start. */
export const LIFECYCLE_INTERVAL_MS = 60 * 60 * 1000;

/** What one pass did, for logs and tests. */
export interface PassCounts {
  expired: number;
  noncurrentExpired: number;
  markersRemoved: number;
  transitioned: number;
  uploadsAborted: number;
  skippedLocked: number;
}

type Action =
  | { kind: "expire"; key: string; decided: ObjectVersionRecord }
  | { kind: "delete"; key: string; versionId: string; counter: "noncurrentExpired" | "markersRemoved" }
  | { kind: "transition"; key: string; versionId: string; storageClass: string };

/**
 * Where the next page starts. The store continues inside a key from a version that still exists,
 * so when the page ends on versions this pass deleted, it continues from the last one it kept
 * (everything after it in the page is gone); when it kept none of the key, past the key.
 */
function continuation(page: ObjectVersionRecord[], actions: Action[]): { keyMarker: string; versionIdMarker?: string } {
  const lastKey = page[page.length - 1]!.key;
  const deleted = new Set(actions.flatMap((a) => (a.kind === "delete" && a.key === lastKey ? [a.versionId] : [])));
  for (let i = page.length - 1; i >= 0 && page[i]!.key === lastKey; i--) {
    if (!deleted.has(page[i]!.versionId)) return { keyMarker: lastKey, versionIdMarker: page[i]!.versionId };
  }
  return { keyMarker: lastKey };
}

/** One pass as the metrics see it: how long it took and what it did (no counts: it failed). */
export interface LifecyclePassReport {
  seconds: number;
  counts?: PassCounts;
}

export class LifecyclePass {
  /** Told after every pass, failed ones included. */
  onPass: ((report: LifecyclePassReport) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PassCounts> | undefined;
  private stopped = false;

  constructor(private readonly ctx: Context) {}

  start(): void {
    this.stopped = false;
    void this.runOnce().catch((err: unknown) => this.ctx.log.warn("lifecycle pass failed", { error: String(err) }));
    this.timer = setInterval(() => {
      void this.runOnce().catch((err: unknown) => this.ctx.log.warn("lifecycle pass failed", { error: String(err) }));
    }, LIFECYCLE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Does one pass now, as the timer would (tests drive it with a ManualClock); waits for one in progress first. */
  async runOnce(): Promise<PassCounts> {
    const previous = this.running;
    const next = (async () => {
      await previous?.catch(() => undefined);
      const startedAt = performance.now();
      const seconds = () => (performance.now() - startedAt) / 1000;
      try {
        const counts = await this.pass();
        this.onPass?.({ seconds: seconds(), counts });
        return counts;
      } catch (err) {
        this.onPass?.({ seconds: seconds() });
        throw err;
      }
    })();
    this.running = next;
    try {
      return await next;
    } finally {
      if (this.running === next) this.running = undefined;
    }
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<PassCounts> {
    const counts: PassCounts = { expired: 0, noncurrentExpired: 0, markersRemoved: 0, transitioned: 0, uploadsAborted: 0, skippedLocked: 0 };
    let after: { bucket: string; id: string } | undefined;
    for (;;) {
      const page = await this.ctx.metadata.listConfigsOfKind(LIFECYCLE_KIND, after, 100);
      for (const row of page) {
        if (this.stopped) return counts;
        // The rules as the bucket has them now: never the row's, read before a re-creation of the name.
        const found = await configuredBucket(this.ctx, row, LIFECYCLE_KIND);
        if (!found) continue;
        const { bucket } = found;
        try {
          const compiled = compileLifecycle(JSON.parse(found.json) as LifecycleConfiguration);
          await this.versionsOf(bucket, compiled, counts);
          await this.uploadsOf(bucket, compiled, counts);
        } catch (err) {
          // One bucket's failure (a store error) must not starve the others; the next pass retries.
          this.ctx.log.warn("lifecycle pass failed for a bucket", { bucket: bucket.name, error: String(err) });
        }
      }
      if (page.length < 100) break;
      const last = page[page.length - 1]!;
      after = { bucket: last.bucket, id: last.id };
    }
    if (Object.values(counts).some((n) => n > 0)) this.ctx.log.info("lifecycle pass", { ...counts });
    return counts;
  }

  /**
   * Walks the bucket's versions key by key (newest first within a key) and decides, for each, what
   * its rules ask. A delete marker that is a key's only version is known as such only once the next
   * key (or the end) is reached, hence `loneMarker`.
   */
  private async versionsOf(bucket: BucketRecord, c: CompiledLifecycle, counts: PassCounts): Promise<void> {
    const now = this.ctx.clock.now().getTime();
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    let key: string | undefined;
    let successorMs = 0;
    let newerNoncurrent = 0;
    let loneMarker: ObjectVersionRecord | undefined;
    const markerDone = (actions: Action[]) => {
      if (loneMarker && markerCleanupApplies(c, loneMarker.key)) {
        actions.push({ kind: "delete", key: loneMarker.key, versionId: loneMarker.versionId, counter: "markersRemoved" });
      }
      loneMarker = undefined;
    };
    for (;;) {
      if (this.stopped) return;
      const page = await this.ctx.metadata.listVersions({ bucket: bucket.name, keyMarker, versionIdMarker, limit: PAGE_SIZE });
      // Listed by name: once the bucket is not this one (deleted, the name taken again), the page may be another's.
      if (!(await isCurrentBucket(this.ctx, bucket))) return;
      const actions: Action[] = [];
      for (const v of page) {
        const lastModified = v.lastModified.getTime();
        if (v.key !== key) {
          markerDone(actions);
          key = v.key;
          newerNoncurrent = 0;
          if (v.isLatest && v.isDeleteMarker) loneMarker = v;
          else if (v.isLatest) this.decideCurrent(c, v, now, actions);
        } else {
          loneMarker = undefined;
          this.decideNoncurrent(c, v, successorMs, newerNoncurrent, now, actions);
          newerNoncurrent++;
        }
        successorMs = lastModified;
      }
      if (page.length < PAGE_SIZE) markerDone(actions);
      await this.apply(bucket, actions, counts);
      if (page.length < PAGE_SIZE) return;
      ({ keyMarker, versionIdMarker } = continuation(page, actions));
    }
  }

  private decideCurrent(c: CompiledLifecycle, v: ObjectVersionRecord, now: number, actions: Action[]): void {
    const s = { key: v.key, size: v.size, tags: () => tagsOf(v.extra) };
    const due = currentExpiry(c, s, v.lastModified.getTime());
    if (due !== undefined && due.at <= now) {
      actions.push({ kind: "expire", key: v.key, decided: v });
      return;
    }
    const target = dueTransition(c, s, v.storageClass, v.lastModified.getTime(), now);
    if (target) actions.push({ kind: "transition", key: v.key, versionId: v.versionId, storageClass: target });
  }

  private decideNoncurrent(c: CompiledLifecycle, v: ObjectVersionRecord, since: number, newerNoncurrent: number, now: number, actions: Action[]): void {
    const s = v.isDeleteMarker ? { key: v.key, tags: () => [] } : { key: v.key, size: v.size, tags: () => tagsOf(v.extra) };
    const at = noncurrentExpiry(c, s, since, newerNoncurrent);
    if (at !== undefined && at <= now) {
      actions.push({ kind: "delete", key: v.key, versionId: v.versionId, counter: "noncurrentExpired" });
      return;
    }
    if (v.isDeleteMarker) return;
    const target = dueTransition(c, { ...s, size: v.size }, v.storageClass, since, now, { newerNoncurrent });
    if (target) actions.push({ kind: "transition", key: v.key, versionId: v.versionId, storageClass: target });
  }

  private async apply(bucket: BucketRecord, actions: Action[], counts: PassCounts): Promise<void> {
    for (const a of actions) {
      try {
        if (a.kind === "expire") {
          // Re-read the bucket: its versioning decides between a delete and a delete marker. A
          // bucket of that name that is not this one is another's: the walk stops.
          const current = await this.ctx.metadata.getBucket(bucket.name);
          if (current?.id !== bucket.id) return;
          try {
            await deleteObjectOrVersion(this.ctx, current, a.key, undefined, { owner: current.ownerAccountId, bypassGovernance: false, lifecycle: true, onlyIfLatest: a.decided });
            counts.expired++;
          } catch (err) {
            // Written again since the page was read: the new object is not the one found due.
            if (!(err instanceof LatestChanged)) throw err;
          }
        } else if (a.kind === "delete") {
          try {
            const onlyIfNoncurrent = a.counter === "noncurrentExpired";
            await deleteObjectOrVersion(this.ctx, bucket, a.key, a.versionId, { owner: bucket.ownerAccountId, bypassGovernance: false, lifecycle: true, onlyIfNoncurrent });
            counts[a.counter]++;
          } catch (err) {
            // Made current again since the page was read (its successors deleted): not due any more.
            if (!(err instanceof LatestChanged)) throw err;
          }
        } else {
          const updated = await this.ctx.metadata.updateVersion(bucket, a.key, a.versionId, (v) =>
            v.storageClass === a.storageClass ? undefined : transitionPatch(this.ctx, v, a.storageClass),
          );
          if (updated) counts.transitioned++;
        }
      } catch (err) {
        if (!(err instanceof S3Error)) throw err;
        // Object lock refused the delete (retention or legal hold): leave it for a later pass. The
        // logger has no debug level; the pass's summary line counts these.
        counts.skippedLocked++;
      }
    }
  }

  private async uploadsOf(bucket: BucketRecord, c: CompiledLifecycle, counts: PassCounts): Promise<void> {
    if (c.abortUploads.length === 0) return;
    const now = this.ctx.clock.now().getTime();
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      if (this.stopped) return;
      const page = await this.ctx.metadata.listUploads({ bucket: bucket.name, keyMarker, uploadIdMarker, limit: PAGE_SIZE });
      // Aborted by upload id, which no store check ties to the bucket: the page must be this bucket's.
      if (!(await isCurrentBucket(this.ctx, bucket))) return;
      for (const u of page) {
        if (!uploadAbortDue(c, u.key, u.initiated.getTime(), now)) continue;
        const parts = await this.ctx.metadata.deleteUpload(u.uploadId);
        if (parts === undefined) continue;
        // No object references an aborted upload's parts.
        releaseBodies(this.ctx, parts.map((p) => ({ body: { kind: "blob" as const, blobId: p.blobId } })), 0);
        counts.uploadsAborted++;
      }
      if (page.length < PAGE_SIZE) return;
      const last = page[page.length - 1]!;
      keyMarker = last.key;
      uploadIdMarker = last.uploadId;
    }
  }
}
