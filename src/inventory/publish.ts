// Delivery of a report, as S3 delivers it: the destination checks (exists, same region, owned by
// Destination.AccountId when given, its bucket policy lets the S3 service principal write each of
// the report's keys), then the data files, manifest.json, the hive symlink.txt and
// manifest.checksum, committed in ONE metadata transaction so that no partial report is ever
// visible. Every file is encrypted at rest as the configuration's Encryption asks, or else as the
// destination bucket's default encryption.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html
import { createHash } from "node:crypto";
import { randomUUID } from "node:crypto";
import type { Context } from "../core/context.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";
import { authorize } from "../auth/authorize.js";
import { S3Error } from "../errors.js";
import { commitVersions, versionIdFor } from "../core/versions.js";
import type { InventoryConfiguration, InventoryFormat } from "./config.js";
import { csvFileSchema, orcFileSchema, parquetFileSchema, type InventoryField } from "./fields.js";
import type { DataFile } from "./write-files.js";
import { bucketEncryption, type WriteEncryption } from "../core/encryption.js";
import { KmsKeyNotFound } from "../crypto/kms.js";
import { sealBuffer } from "../crypto/sse.js";

export class DeliveryRefused extends Error {}

const FILE_FORMAT: Record<InventoryFormat, { extension: string; contentType: string; schema: (c: readonly InventoryField[]) => string }> = {
  CSV: { extension: "csv.gz", contentType: "application/x-gzip", schema: csvFileSchema },
  ORC: { extension: "orc", contentType: "application/octet-stream", schema: orcFileSchema },
  Parquet: { extension: "parquet", contentType: "application/octet-stream", schema: parquetFileSchema },
};

/** The S3 service principal acting for a source bucket, as the destination policy sees it. */
export function servicePrincipal(source: BucketRecord) {
  return { kind: "service" as const, service: "s3.amazonaws.com" as const, sourceAccount: source.ownerAccountId, sourceArn: `arn:aws:s3:::${source.name}` };
}

/** Where a configuration's reports go: "prefix/source-bucket/config-id" (no leading segment without a prefix). */
export function reportBase(source: string, config: InventoryConfiguration): string {
  const prefix = (config.destination.prefix ?? "").replace(/\/+$/, "");
  return [prefix, source, config.id].filter((s) => s !== "").join("/");
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** The keys of the report a run whose snapshot was taken at `scanStarted` writes. */
export function reportKeys(source: string, config: InventoryConfiguration, scanStarted: Date) {
  const base = reportBase(source, config);
  const t = scanStarted;
  const stamp = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}Z`;
  const dt = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}-${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}`;
  const extension = FILE_FORMAT[config.destination.format].extension;
  return {
    /** A new data file's key: each gets a random name. */
    dataFile: () => `${base}/data/${randomUUID()}.${extension}`,
    manifest: `${base}/${stamp}/manifest.json`,
    checksum: `${base}/${stamp}/manifest.checksum`,
    symlink: `${base}/hive/dt=${dt}/symlink.txt`,
  };
}

/**
 * Whether the destination's bucket policy lets the S3 service principal write `key`, as S3 asks
 * for every object of a report; DeliveryRefused naming the key when it does not.
 */
async function authorizeReportKey(ctx: Context, source: BucketRecord, dest: BucketRecord, key: string): Promise<void> {
  try {
    await authorize({
      principal: servicePrincipal(source),
      action: "s3:PutObject",
      bucket: dest,
      key,
      policies: ctx.policies,
      context: { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SecureTransport": "true", "aws:CurrentTime": ctx.clock.now().toISOString() },
    });
  } catch (err) {
    if (err instanceof S3Error && err.code === "AccessDenied") {
      throw new DeliveryRefused(`the bucket policy of ${dest.name} does not allow s3.amazonaws.com to write ${key} (s3:PutObject for ${source.name})`);
    }
    throw err;
  }
}

/**
 * Checks the destination before any work; throws DeliveryRefused with the reason. The report's
 * own keys and a data file's are authorized here so that a policy refusing any of them fails the
 * run before a data file is written; publishReport authorizes every actual key again.
 */
export async function checkDestination(ctx: Context, source: BucketRecord, config: InventoryConfiguration, scanStarted: Date): Promise<BucketRecord> {
  const d = config.destination;
  const dest = await ctx.metadata.getBucket(d.bucketName);
  try {
    if (!dest) throw new DeliveryRefused(`destination bucket ${d.bucketName} does not exist`);
    if (dest.region !== source.region) throw new DeliveryRefused(`destination bucket ${d.bucketName} is in ${dest.region}, not ${source.region}`);
    if (d.accountId !== undefined && d.accountId !== dest.ownerAccountId) {
      throw new DeliveryRefused(`destination bucket ${d.bucketName} is not owned by account ${d.accountId}`);
    }
    const keys = reportKeys(source.name, config, scanStarted);
    for (const key of [keys.dataFile(), keys.manifest, keys.symlink, keys.checksum]) await authorizeReportKey(ctx, source, dest, key);
    return dest;
  } catch (err) {
    // The run's error is shown to the source's owner: of a bucket that is not its own, it learns
    // only that the report cannot go there, not whether the bucket exists, where, or whose it is.
    if (!(err instanceof DeliveryRefused) || dest?.ownerAccountId === source.ownerAccountId) throw err;
    ctx.log.warn("inventory destination refused", { source: source.name, destination: d.bucketName, reason: err.message });
    throw new DeliveryRefused(`destination bucket ${d.bucketName} does not exist or does not accept this report`);
  }
}

/**
 * How a report's files are encrypted: SSE-S3 or SSE-KMS (a key of the source bucket owner's) as
 * its configuration says, else the destination bucket's default encryption, as S3 delivers them.
 */
export async function reportEncryption(ctx: Context, source: BucketRecord, config: InventoryConfiguration, dest: BucketRecord): Promise<WriteEncryption | undefined> {
  const wanted = config.destination.encryption;
  const byDefault = await bucketEncryption(ctx, dest.name);
  const kind = wanted ? wanted.kind : byDefault?.algorithm === "AES256" ? "SSE-S3" : byDefault ? "KMS" : undefined;
  if (kind === undefined) return undefined;
  if (kind === "SSE-S3") return { stored: { kind: "SSE-S3" }, wrapping: { mode: "SSE-S3", kek: ctx.keys.masterKey } };
  const dsse = !wanted && byDefault?.algorithm === "aws:kms:dsse";
  const keyName = wanted?.kind === "SSE-KMS" ? wanted.keyId : byDefault?.kmsMasterKeyId;
  const account = wanted ? source.ownerAccountId : dest.ownerAccountId;
  try {
    const key = keyName === undefined ? await ctx.keys.awsManagedKey(account) : await ctx.keys.resolve(account, keyName);
    const mode = dsse ? "DSSE-KMS" : "SSE-KMS";
    const bucketKey = !wanted && !dsse && byDefault?.bucketKeyEnabled;
    return { stored: { kind: mode, keyId: key.arn, ...(bucketKey ? { bucketKeyEnabled: true } : {}) }, wrapping: { mode, kek: key.material, kmsKeyId: key.keyId } };
  } catch (err) {
    if (err instanceof KmsKeyNotFound) throw new DeliveryRefused(`the KMS key ${err.requested} for the report's encryption does not exist`);
    throw err;
  }
}

export interface PublishedReport {
  manifestKey: string;
  keys: string[];
}

export async function publishReport(
  ctx: Context,
  source: BucketRecord,
  config: InventoryConfiguration,
  columns: readonly InventoryField[],
  files: DataFile[],
  scanStarted: Date,
  /** The encryption the data files were written with (reportEncryption); the other files get it too. */
  encryption: WriteEncryption | undefined,
  /**
   * Called in the same event-loop turn as the report's metadata write is queued: metadata writes
   * it queues share that group commit, so a crash keeps both or neither (the run's outcome).
   */
  alongside?: (manifestKey: string) => void,
): Promise<PublishedReport> {
  const dest = await checkDestination(ctx, source, config, scanStarted);
  const keys = reportKeys(source.name, config, scanStarted);
  const format = FILE_FORMAT[config.destination.format];
  const now = ctx.clock.now();
  // S3 delivers reports with bucket-owner-full-control; the destination owner owns them here, so
  // that is the default ACL (owner FULL_CONTROL), which a version stores as no `extra.acl`.
  const extra: Record<string, unknown> = {};
  if (encryption) extra.encryption = encryption.stored;

  const record = (key: string, body: ObjectVersionRecord["body"], size: number, md5hex: string, contentType: string): Omit<ObjectVersionRecord, "isLatest"> => ({
    bucket: dest.name,
    key,
    versionId: versionIdFor(dest),
    isDeleteMarker: false,
    size,
    etag: `"${md5hex}"`,
    lastModified: now,
    storageClass: "STANDARD",
    contentType,
    contentHeaders: {},
    userMetadata: {},
    ownerAccountId: dest.ownerAccountId,
    partsCount: 0,
    extra,
    body,
  });
  const inline = (key: string, text: string, contentType: string) => {
    const data = Buffer.from(text);
    const stored = encryption ? sealBuffer(encryption.wrapping, data) : data;
    return record(key, { kind: "inline", data: stored }, data.length, createHash("md5").update(data).digest("hex"), contentType);
  };

  const dataRecords = files.map((f) => record(keys.dataFile(), { kind: "blob", blobId: f.blobId }, f.size, f.md5, format.contentType));
  const manifest = {
    sourceBucket: source.name,
    destinationBucket: config.destination.bucketArn,
    version: "2016-11-30",
    // The report's minute, the one its folder is named after, as real manifests carry it
    // ("1748826000000" in …/2025-06-02T01-00Z/manifest.json; see docs/inventory-engine.md).
    creationTimestamp: String(Math.floor(scanStarted.getTime() / 60_000) * 60_000),
    fileFormat: config.destination.format,
    fileSchema: format.schema(columns),
    files: dataRecords.map((r, i) => ({ key: r.key, size: files[i]!.size, MD5checksum: files[i]!.md5 })),
  };
  const manifestText = JSON.stringify(manifest, null, 2);
  const manifestKey = keys.manifest;
  const symlink = dataRecords.map((r) => `s3://${dest.name}/${r.key}`).join("\n") + "\n";
  const records = [
    ...dataRecords,
    inline(manifestKey, manifestText, "application/json"),
    inline(keys.symlink, symlink, "text/plain"),
    // Last: its arrival is what tells consumers the report is complete.
    inline(keys.checksum, createHash("md5").update(manifestText).digest("hex") + "\n", "text/plain"),
  ];
  // Before anything is committed: the report is published whole or not at all.
  for (const r of records) await authorizeReportKey(ctx, source, dest, r.key);
  // Written as any writer's objects are (the destination's replication and tiering apply to them).
  await commitVersions(ctx, dest, records, (facts) => {
    const committed = ctx.metadata.putVersions(dest, facts);
    alongside?.(manifestKey);
    return committed;
  });
  return { manifestKey, keys: records.map((r) => r.key) };
}
