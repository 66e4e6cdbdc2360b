// Server access log delivery. The edge hands over a record for each request to a bucket that logs
// its requests; records are kept in memory per source bucket and written as one log object per
// batch into the target bucket: every flush interval, sooner when a batch grows large or the
// source's configuration changes, and when the server stops. Before each delivery the target is
// checked again as PutBucketLogging checked it (checkTarget: owner, Requester Pays, encryption,
// Object Lock), and the bucket policy is asked about the very key of each object to be written; a
// delivery the target no longer accepts is dropped with a log line. Log objects are committed
// through the domain (commitVersion) as the logging service, not through HTTP, so delivering logs
// makes no requests to log. Delivery is best effort, as S3's: records still buffered when the
// process dies are lost.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html#how-logs-delivered
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { S3Error } from "../errors.js";
import type { BucketRecord } from "../storage/types.js";
import { receiveBody, releaseBodies } from "../core/bodies.js";
import { commitVersion, versionIdFor } from "../core/versions.js";
import { bucketEncryption, type WriteEncryption } from "../core/encryption.js";
import type { NewVersion } from "../core/context.js";
import { canonicalIdFor } from "../auth/accounts.js";
import type { ServerContext } from "./types.js";
import { authorizeLogWrite, checkTarget, loggingOf, type LoggingConfiguration } from "./bucket-logging.js";
import { compactGrants } from "./acl.js";
import { eventDay, formatRecord, groupsByEventDay, logObjectKey, UNIQUE_STRING_LENGTH, type AccessLogRecord } from "./access-log-format.js";

/** A batch is delivered at once when its records reach this size, so memory stays bounded. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

interface Batch {
  source: Pick<BucketRecord, "name" | "id" | "ownerAccountId" | "region">;
  /** The configuration the records were made under (the settings cache's object). */
  config: LoggingConfiguration;
  records: { time: Date; line: string }[];
  bytes: number;
}

export class AccessLogDelivery {
  /** Per source bucket name, the batch being filled. */
  private readonly batches = new Map<string, Batch>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ServerContext,
    private readonly flushIntervalMs: number,
  ) {}

  /** The bucket's logging configuration, from the settings cache: a map lookup for most buckets. */
  configOf(bucket: string): Promise<LoggingConfiguration | undefined> {
    return loggingOf(this.ctx.settings, bucket);
  }

  /** Buffers one request's record under the configuration in force when the request came. */
  record(source: BucketRecord, config: LoggingConfiguration, record: AccessLogRecord): void {
    let batch = this.batches.get(source.name);
    if (batch && (batch.config !== config || batch.source.id !== source.id)) {
      // A new configuration (or a new bucket of the same name) starts a batch of its own: the
      // records made under the old one go where it said.
      this.batches.delete(source.name);
      this.send(batch);
      batch = undefined;
    }
    if (!batch) {
      batch = { source: { name: source.name, id: source.id, ownerAccountId: source.ownerAccountId, region: source.region }, config, records: [], bytes: 0 };
      this.batches.set(source.name, batch);
    }
    const line = formatRecord(record);
    batch.records.push({ time: record.time, line });
    batch.bytes += Buffer.byteLength(line) + 1;
    if (batch.bytes >= MAX_BATCH_BYTES) {
      this.batches.delete(source.name);
      this.send(batch);
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  /** Delivers everything buffered so far; resolves when every delivery under way has ended. */
  async flush(): Promise<void> {
    for (const batch of this.batches.values()) this.send(batch);
    this.batches.clear();
    await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private send(batch: Batch): void {
    const delivery = this.deliver(batch).catch((err: unknown) => {
      this.ctx.disk.noteError(err);
      this.ctx.log.warn("server access log records dropped", {
        source: batch.source.name,
        target: batch.config.targetBucket,
        records: batch.records.length,
        reason: err instanceof S3Error ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err),
      });
    });
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  private async deliver(batch: Batch): Promise<void> {
    const { ctx } = this;
    const { source, config } = batch;
    const target = await ctx.metadata.getBucket(config.targetBucket);
    if (!target) throw new S3Error("InvalidTargetBucketForLogging", "The target bucket for logging does not exist");
    await checkTarget(ctx, source, target);
    ctx.disk.refuseWrites();
    const encryption = await logEncryption(ctx, target);
    const ownerId = canonicalIdFor(target.ownerAccountId);
    const acl = config.targetGrants && compactGrants([{ id: ownerId, permission: "FULL_CONTROL" }, ...config.targetGrants], ownerId);
    const objects = logObjects(batch, ctx.clock.now()).map(([time, lines]) => {
      const unique = randomBytes(UNIQUE_STRING_LENGTH / 2).toString("hex").toUpperCase();
      return { key: logObjectKey(config.targetPrefix, config.keyFormat, { accountId: source.ownerAccountId, region: source.region, bucket: source.name }, time, unique), lines };
    });
    // Every key is asked about before any is written: a policy refuses a batch whole, not half of it.
    for (const { key } of objects) await authorizeLogWrite(ctx, source, target, key);
    for (const { key, lines } of objects) {
      const stored = await receiveBody(Readable.from([Buffer.from(lines.join("\n") + "\n")]), {
        blobs: ctx.blobs,
        inlineMaxBytes: ctx.config.inlineObjectMaxBytes,
        seal: encryption?.wrapping,
      });
      const record: NewVersion = {
        bucket: target.name,
        key,
        versionId: versionIdFor(target),
        isDeleteMarker: false,
        size: stored.size,
        etag: `"${stored.md5.toString("hex")}"`,
        lastModified: ctx.clock.now(),
        storageClass: "STANDARD",
        contentType: "text/plain",
        contentHeaders: {},
        userMetadata: {},
        ownerAccountId: target.ownerAccountId,
        partsCount: 0,
        extra: { ...(encryption ? { encryption: encryption.stored } : {}), ...(acl ? { acl } : {}) },
        body: stored.body,
      };
      try {
        await commitVersion(ctx, target, record);
      } catch (err) {
        releaseBodies(ctx, [{ body: stored.body }], 0);
        throw err;
      }
    }
  }
}

/**
 * The log objects of a batch: one, keyed by the delivery time; or, for PartitionedPrefix by
 * EventTime, one per day the records fall on, keyed by that day.
 */
function logObjects(batch: Batch, now: Date): [Date, string[]][] {
  if (!groupsByEventDay(batch.config.keyFormat)) return [[now, batch.records.map((r) => r.line)]];
  const days = new Map<number, string[]>();
  for (const r of batch.records) {
    const day = eventDay(r.time).getTime();
    let lines = days.get(day);
    if (!lines) days.set(day, (lines = []));
    lines.push(r.line);
  }
  return [...days].map(([day, lines]) => [new Date(day), lines]);
}

/** Log objects get the target's default encryption: SSE-S3 or none (checkTarget refuses SSE-KMS). */
async function logEncryption(ctx: ServerContext, target: BucketRecord): Promise<WriteEncryption | undefined> {
  return (await bucketEncryption(ctx, target.name)) ? { stored: { kind: "SSE-S3" }, wrapping: { mode: "SSE-S3", kek: ctx.keys.masterKey } } : undefined;
}
