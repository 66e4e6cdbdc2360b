// The tiering pass: on a timer (hourly), moves Intelligent-Tiering objects down their access tiers,
// completes restores whose retrieval time has come and expires restored copies, all against the
// injectable clock. It walks only the buckets marked as holding such objects (hooks.ts), a page of
// versions at a time, so memory stays flat whatever the bucket's size.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/intelligent-tiering-overview.html
import { setImmediate as yieldToRequests } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import type { Context } from "../core/context.js";
import type { ObjectVersionRecord } from "../storage/types.js";
import { MAX_TIERING_CONFIGURATIONS, TIERING_CONFIG_KIND, archiveDaysFor, tieringConfigurationFromJson, type TieringConfiguration } from "./config.js";
import { TIERED_OBJECTS_KIND } from "./hooks.js";
import { HOUR_MS, advance, type TieringFacts } from "./tiers.js";

const VERSIONS_PAGE = 1000;
const BUCKETS_PAGE = 100;

function factsOf(v: ObjectVersionRecord): TieringFacts {
  return { key: v.key, size: v.size, storageClass: v.storageClass, lastModified: v.lastModified.getTime(), extra: v.extra };
}

/** What one pass did: buckets walked, versions moved to another tier or restore state. */
export interface TieringCounts {
  buckets: number;
  updated: number;
}

/** One pass as the metrics see it: how long it took and what it did (no counts: it failed). */
export interface TieringPassReport {
  seconds: number;
  counts?: TieringCounts;
}

export class TieringPass {
  /** Told after every pass, failed ones included. */
  onPass: ((report: TieringPassReport) => void) | undefined;
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly ctx: Context,
    private readonly intervalMs = HOUR_MS,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((err: unknown) => this.ctx.log.error("tiering pass failed", { error: String(err) }))
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Does one pass now, as the timer would (tests drive it with a ManualClock); passes never overlap. */
  async runOnce(): Promise<void> {
    const previous = this.current ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.reportedPass());
    this.current = next;
    try {
      await next;
    } finally {
      if (this.current === next) this.current = undefined;
    }
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
  }

  private async reportedPass(): Promise<void> {
    const startedAt = performance.now();
    const seconds = () => (performance.now() - startedAt) / 1000;
    try {
      const counts = await this.pass();
      this.onPass?.({ seconds: seconds(), counts });
    } catch (err) {
      this.onPass?.({ seconds: seconds() });
      throw err;
    }
  }

  private async pass(): Promise<TieringCounts> {
    const now = this.ctx.clock.now().getTime();
    const counts: TieringCounts = { buckets: 0, updated: 0 };
    let after: { bucket: string; id: string } | undefined;
    for (;;) {
      const marked = await this.ctx.metadata.listConfigsOfKind(TIERED_OBJECTS_KIND, after, BUCKETS_PAGE);
      for (const { bucket } of marked) {
        if (this.stopped) return counts;
        counts.buckets++;
        counts.updated += await this.passBucket(bucket, now);
      }
      if (marked.length < BUCKETS_PAGE) return counts;
      const last = marked[marked.length - 1]!;
      after = { bucket: last.bucket, id: last.id };
    }
  }

  private async configurations(bucket: string): Promise<TieringConfiguration[]> {
    return (await this.ctx.metadata.listBucketConfigs(bucket, TIERING_CONFIG_KIND, undefined, MAX_TIERING_CONFIGURATIONS))
      .map((row) => tieringConfigurationFromJson(row.json))
      .filter((c) => c.status === "Enabled");
  }

  /** Returns the number of versions changed. */
  private async passBucket(bucket: string, now: number): Promise<number> {
    const record = await this.ctx.metadata.getBucket(bucket);
    if (!record) return 0;
    let updated = 0;
    const configs = await this.configurations(bucket);
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await this.ctx.metadata.listVersions({ bucket, keyMarker, versionIdMarker, limit: VERSIONS_PAGE });
      for (const v of page) {
        if (v.isDeleteMarker) continue;
        const facts = factsOf(v);
        if (advance(facts, now, archiveDaysFor(configs, facts)) === undefined) continue;
        // Decided again on the stored record: a GET or a RestoreObject may have changed it since the page was read.
        // A flag, not a count: the store may run the update again when a commit is retried.
        let changed = false;
        await this.ctx.metadata.updateVersion(record, v.key, v.versionId, (current) => {
          const currentFacts = factsOf(current);
          const extra = advance(currentFacts, now, archiveDaysFor(configs, currentFacts));
          changed = extra !== undefined;
          return extra === undefined ? undefined : { extra };
        });
        if (changed) updated++;
      }
      if (page.length < VERSIONS_PAGE || this.stopped) return updated;
      const last = page[page.length - 1]!;
      keyMarker = last.key;
      versionIdMarker = last.versionId;
      await yieldToRequests();
    }
  }
}
