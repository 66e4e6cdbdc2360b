// The background task that replicates PENDING versions (the server starts and stops it). Commits
// queue their version here at once (hooks.ts); the store is the durable queue: a version stays
// PENDING until its replicas are written, so a restart (or a full queue) falls back to scanning
// the versions of the buckets that have a replication configuration. A few copies run at a time,
// one per key at most and in the source's order, so each replica becomes its key's latest version
// in the same order as on the source.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html
import type { Context } from "../core/context.js";
import { REPLICATION_KIND, type ReplicationConfiguration } from "./config.js";
import { replicationStatusOf, replicationTargets } from "./eligibility.js";
import { replicateVersion } from "./copy.js";

export interface ReplicationItem {
  bucket: string;
  key: string;
  versionId: string;
}

interface QueuedItem extends ReplicationItem {
  attempt: number;
}

export interface ReplicatorOptions {
  /** Copies in flight at once. */
  maxInFlight?: number;
  /** Versions held in memory; beyond this they wait in the store for the next scan. */
  maxQueued?: number;
  /** Attempts for a copy that fails transiently (an I/O error) before it waits for a rescan. */
  maxAttempts?: number;
  retryDelayMs?: number;
  /** How often to rescan when something was left in the store (a full queue, exhausted retries). */
  rescanIntervalMs?: number;
}

/**
 * How one attempt at a version ended: its replicas written (COMPLETED), refused for good (FAILED),
 * or an error that leaves it PENDING for a retry or a later scan.
 */
export type ReplicationOutcome = "COMPLETED" | "FAILED" | "error";

/** What is waiting to be replicated, as far as this process knows. */
export interface ReplicationBacklog {
  queued: number;
  inFlight: number;
  /** Versions waiting for a retry after a failed attempt. */
  retrying: number;
  /** True when PENDING versions were left in the store (a full queue or exhausted retries) for the next scan. */
  leftInStore: boolean;
}

const DEFAULTS: Required<ReplicatorOptions> = { maxInFlight: 4, maxQueued: 10_000, maxAttempts: 3, retryDelayMs: 1000, rescanIntervalMs: 60_000 };
const SCAN_PAGE = 1000;

/** The Replicator of each server context, so the commit hooks find it without a global. */
const replicators = new WeakMap<Context, Replicator>();

export function replicatorOf(ctx: Context): Replicator | undefined {
  return replicators.get(ctx);
}

const idOf = (i: ReplicationItem) => `${i.bucket}\0${i.key}\0${i.versionId}`;
const keyOf = (i: ReplicationItem) => `${i.bucket}\0${i.key}`;

export class Replicator {
  /** Told how every attempt at a version ended (metrics). */
  onAttempt: ((outcome: ReplicationOutcome) => void) | undefined;
  /** Told after every scan for PENDING versions, and whether it failed (metrics). */
  onScan: ((failed: boolean) => void) | undefined;
  private readonly opts: Required<ReplicatorOptions>;
  private readonly queue: QueuedItem[] = [];
  /** Ids queued, in flight or waiting for a retry: each is handled once at a time. */
  private readonly known = new Set<string>();
  /** Keys with a copy in flight or waiting for a retry: later versions of the key wait. */
  private readonly busyKeys = new Set<string>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private inFlight = 0;
  private scansRunning = 0;
  /** Versions were left in the store because the queue was full: scan again once it drains. */
  private overflowed = false;
  /** Versions were left PENDING after exhausted retries or a failed scan: the timer scans again. */
  private retryLater = false;
  private scanning: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /**
   * Whether this node scans the store for PENDING versions. Every node replicates the versions it
   * commits; on a cluster only the holder of the scan lease scans, or each node would copy them all.
   */
  mayScan: () => boolean = () => true;

  constructor(
    private readonly ctx: Context,
    options: ReplicatorOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...options };
    replicators.set(ctx, this);
  }

  /** Starts work and, for versions a restart left PENDING, a scan in the background. */
  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => {
      if (this.retryLater || this.overflowed) void this.scan();
    }, this.opts.rescanIntervalMs);
    this.timer.unref();
    void this.scan();
  }

  /**
   * Scans for PENDING versions now and waits until every copy (and retry) has finished, scanning
   * again as long as the queue overflows.
   */
  async runOnce(): Promise<void> {
    await this.scan();
    await this.idle();
  }

  /** Stops taking work and waits for the copies in flight; what is queued stays PENDING in the store. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.queue.length = 0;
    await this.scanning;
    await this.idle();
    this.known.clear();
    this.busyKeys.clear();
  }

  /** Scans the store in the background: this node just took over the scan, or a node died. */
  rescan(): void {
    if (!this.stopped) void this.scan();
  }

  backlog(): ReplicationBacklog {
    return { queued: this.queue.length, inFlight: this.inFlight, retrying: this.retryTimers.size, leftInStore: this.overflowed || this.retryLater };
  }

  /** Queues a version just committed as PENDING. */
  enqueue(item: ReplicationItem): void {
    if (this.stopped) return;
    if (!this.push({ ...item, attempt: 1 })) this.overflowed = true;
    this.pump();
  }

  /** False when the queue is full (the version stays PENDING in the store for a later scan). */
  private push(item: QueuedItem): boolean {
    const id = idOf(item);
    if (this.known.has(id)) return true;
    if (this.queue.length >= this.opts.maxQueued) return false;
    this.known.add(id);
    this.queue.push(item);
    return true;
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < this.opts.maxInFlight) {
      const at = this.queue.findIndex((i) => !this.busyKeys.has(keyOf(i)));
      if (at === -1) break;
      const [item] = this.queue.splice(at, 1);
      void this.process(item!);
    }
    this.notifyIfIdle();
  }

  private async process(item: QueuedItem): Promise<void> {
    this.inFlight++;
    this.busyKeys.add(keyOf(item));
    let retry = false;
    try {
      const outcome = await this.replicate(item);
      if (outcome !== undefined) this.onAttempt?.(outcome);
    } catch (err) {
      this.onAttempt?.("error");
      retry = !this.stopped && item.attempt < this.opts.maxAttempts;
      const fields = { bucket: item.bucket, key: item.key, versionId: item.versionId, attempt: item.attempt, error: String(err) };
      if (retry) {
        this.ctx.log.warn("replication attempt failed; retrying", fields);
      } else {
        // S3 keeps a version PENDING through transient failures: a later scan tries again.
        this.ctx.log.error("replication failed; the version stays PENDING", fields);
        this.retryLater = true;
      }
    } finally {
      this.inFlight--;
    }
    if (retry) {
      // The key stays busy while it waits, so the key's later versions keep their order.
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.busyKeys.delete(keyOf(item));
        this.queue.unshift({ ...item, attempt: item.attempt + 1 });
        this.pump();
      }, this.opts.retryDelayMs * item.attempt);
      timer.unref();
      this.retryTimers.add(timer);
    } else {
      this.busyKeys.delete(keyOf(item));
      this.known.delete(idOf(item));
    }
    this.pump();
  }

  /**
   * Replicates one version to every destination that selects it, then records the outcome;
   * undefined when there was nothing to do (the version is gone or no longer PENDING).
   */
  private async replicate(item: ReplicationItem): Promise<ReplicationOutcome | undefined> {
    const { ctx } = this;
    const source = await ctx.metadata.getBucket(item.bucket);
    const v = source && await ctx.metadata.getVersion(item.bucket, item.key, item.versionId);
    if (!source || !v || replicationStatusOf(v.extra) !== "PENDING") return undefined;
    const config = await ctx.settings.get<ReplicationConfiguration>(source.name, REPLICATION_KIND);
    const targets = config ? replicationTargets(config, v) : [];
    // The configuration was removed, or no longer selects the version (SrcBucketReplicationConfigMissing).
    let status: "COMPLETED" | "FAILED" = targets.length === 0 ? "FAILED" : "COMPLETED";
    for (const rule of targets) {
      const failure = await replicateVersion(ctx, source, v, rule);
      if (failure !== undefined) {
        status = "FAILED";
        ctx.log.warn("replication failed", { bucket: item.bucket, key: item.key, versionId: item.versionId, destination: rule.destination.bucket, reason: failure });
      }
    }
    await ctx.metadata.updateVersion(source, item.key, item.versionId, (current) =>
      replicationStatusOf(current.extra) === "PENDING" ? { extra: { ...current.extra, replicationStatus: status } } : undefined,
    );
    return status;
  }

  /** Scans after any scan in progress (scans never overlap). */
  private scan(): Promise<void> {
    this.scansRunning++;
    this.scanning = this.scanning
      .then(() => this.scanAll())
      .then(
        () => this.onScan?.(false),
        (err: unknown) => {
          this.retryLater = true;
          this.ctx.log.error("replication scan failed", { error: String(err) });
          this.onScan?.(true);
        },
      )
      .finally(() => {
        this.scansRunning--;
        this.notifyIfIdle();
      });
    return this.scanning;
  }

  /**
   * Queues every PENDING version of the buckets that have a replication configuration. Costs a
   * read of each of those buckets' versions, a page at a time, yielding between pages. Stops early
   * when the queue is full (the rest wait for the next scan).
   */
  private async scanAll(): Promise<void> {
    if (this.stopped || !this.mayScan()) return;
    this.overflowed = false;
    this.retryLater = false;
    let after: { bucket: string; id: string } | undefined;
    for (;;) {
      const configs = await this.ctx.metadata.listConfigsOfKind(REPLICATION_KIND, after, 100);
      if (configs.length === 0) return;
      for (const { bucket } of configs) {
        if (!(await this.scanBucket(bucket))) {
          this.overflowed = true;
          return;
        }
      }
      const last = configs[configs.length - 1]!;
      after = { bucket: last.bucket, id: last.id };
    }
  }

  /** False when the queue filled up. */
  private async scanBucket(bucket: string): Promise<boolean> {
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    // A key's versions come newest first: queue them oldest first, once the key is complete.
    let key: string | undefined;
    let ofKey: QueuedItem[] = [];
    const flush = () => {
      for (const item of ofKey.reverse()) if (!this.push(item)) return false;
      ofKey = [];
      this.pump();
      return true;
    };
    for (;;) {
      if (this.stopped) return true;
      const page = await this.ctx.metadata.listVersions({ bucket, keyMarker, versionIdMarker, limit: SCAN_PAGE });
      for (const v of page) {
        if (v.key !== key) {
          if (!flush()) return false;
          key = v.key;
        }
        if (replicationStatusOf(v.extra) === "PENDING") ofKey.push({ bucket, key: v.key, versionId: v.versionId, attempt: 1 });
      }
      if (page.length < SCAN_PAGE) return flush();
      const last = page[page.length - 1]!;
      keyMarker = last.key;
      versionIdMarker = last.versionId;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.notifyIfIdle();
    });
  }

  private notifyIfIdle(): void {
    if (this.inFlight > 0 || this.scansRunning > 0) return;
    if (!this.stopped && this.queue.length + this.retryTimers.size > 0) return;
    if (!this.stopped && this.overflowed) {
      void this.scan();
      return;
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
