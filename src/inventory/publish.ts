// Delivery of a report, as S3 delivers it: the destination checks (exists, same region, owned by
// Destination.AccountId when given, its bucket policy lets the S3 service principal write), then
// the data files, manifest.json, the hive symlink.txt and manifest.checksum, committed in ONE
// metadata transaction so that no partial report is ever visible.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html
import { createHash } from "node:crypto";
import { randomUUID } from "node:crypto";
import type { ServerContext } from "../server/types.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";
import { authorize } from "../auth/authorize.js";
import { S3Error } from "../errors.js";
import { newVersionId } from "../s3/objects.js";
import { releaseBodies } from "../s3/object-body.js";
import type { InventoryConfiguration, InventoryFormat } from "./config.js";
import { csvFileSchema, orcFileSchema, parquetFileSchema, type InventoryField } from "./fields.js";
import type { DataFile } from "./write-files.js";

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

/** Checks the destination before any work; throws DeliveryRefused with the reason. */
export function checkDestination(ctx: ServerContext, source: BucketRecord, config: InventoryConfiguration): BucketRecord {
  const d = config.destination;
  const dest = ctx.metadata.getBucket(d.bucketName);
  if (!dest) throw new DeliveryRefused(`destination bucket ${d.bucketName} does not exist`);
  if (dest.region !== source.region) throw new DeliveryRefused(`destination bucket ${d.bucketName} is in ${dest.region}, not ${source.region}`);
  if (d.accountId !== undefined && d.accountId !== dest.ownerAccountId) {
    throw new DeliveryRefused(`destination bucket ${d.bucketName} is not owned by account ${d.accountId}`);
  }
  try {
    authorize({
      principal: servicePrincipal(source),
      action: "s3:PutObject",
      bucket: dest,
      key: `${reportBase(source.name, config)}/manifest.json`,
      policies: ctx.policies,
      context: { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SecureTransport": "true", "aws:CurrentTime": ctx.clock.now().toISOString() },
    });
  } catch (err) {
    if (err instanceof S3Error && err.code === "AccessDenied") {
      throw new DeliveryRefused(`the bucket policy of ${d.bucketName} does not allow s3.amazonaws.com to write the report (s3:PutObject for ${source.name})`);
    }
    throw err;
  }
  return dest;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

export interface PublishedReport {
  manifestKey: string;
  keys: string[];
}

export async function publishReport(
  ctx: ServerContext,
  source: BucketRecord,
  config: InventoryConfiguration,
  columns: readonly InventoryField[],
  files: DataFile[],
  scanStarted: Date,
): Promise<PublishedReport> {
  const dest = checkDestination(ctx, source, config);
  const base = reportBase(source.name, config);
  const format = FILE_FORMAT[config.destination.format];
  const t = scanStarted;
  const stamp = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}Z`;
  const dt = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}-${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}`;
  const now = ctx.clock.now();
  const encryption = config.destination.encryption;
  const extra: Record<string, unknown> = { acl: "bucket-owner-full-control" };
  if (encryption) extra.encryption = encryption.kind === "SSE-KMS" ? { kind: "SSE-KMS", keyId: encryption.keyId } : { kind: "SSE-S3" };

  const record = (key: string, body: ObjectVersionRecord["body"], size: number, md5hex: string, contentType: string): Omit<ObjectVersionRecord, "isLatest"> => ({
    bucket: dest.name,
    key,
    versionId: dest.versioning === "Enabled" ? newVersionId() : "null",
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
    return record(key, { kind: "inline", data }, data.length, createHash("md5").update(data).digest("hex"), contentType);
  };

  const dataRecords = files.map((f) => record(`${base}/data/${randomUUID()}.${format.extension}`, { kind: "blob", blobId: f.blobId }, f.size, f.md5, format.contentType));
  const manifest = {
    sourceBucket: source.name,
    destinationBucket: config.destination.bucketArn,
    version: "2016-11-30",
    creationTimestamp: String(scanStarted.getTime()),
    fileFormat: config.destination.format,
    fileSchema: format.schema(columns),
    files: dataRecords.map((r, i) => ({ key: r.key, size: files[i]!.size, MD5checksum: files[i]!.md5 })),
  };
  const manifestText = JSON.stringify(manifest, null, 2);
  const manifestKey = `${base}/${stamp}/manifest.json`;
  const symlink = dataRecords.map((r) => `s3://${dest.name}/${r.key}`).join("\n") + "\n";
  const records = [
    ...dataRecords,
    inline(manifestKey, manifestText, "application/json"),
    inline(`${base}/hive/dt=${dt}/symlink.txt`, symlink, "text/plain"),
    // Last: its arrival is what tells consumers the report is complete.
    inline(`${base}/${stamp}/manifest.checksum`, createHash("md5").update(manifestText).digest("hex") + "\n", "text/plain"),
  ];
  const { removed } = await ctx.metadata.putVersions(records);
  releaseBodies(ctx, removed);
  return { manifestKey, keys: records.map((r) => r.key) };
}
