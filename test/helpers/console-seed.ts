// A bucket with a history, for the console's browser tests and its screenshots: objects written
// over a year in several storage classes, overwritten, deleted and uploaded in parts, and three
// daily inventory reports taken a day apart, so the console has a latest summary and a trend to
// show. The server's clock is moved back for the writes and the runs; requests are signed with
// the real time, so the server must allow the skew (SEED_MAX_SKEW_MS).
//
// `expected` is the last report's summary worked out from the writes alone, independently of the
// server, for the tests to compare the console's numbers with.
import { randomBytes } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
  type StorageClass,
} from "@aws-sdk/client-s3";
import type { Clock } from "../../src/clock.js";
import type { Tally } from "../../src/inventory/summary.js";
import type { TestServer } from "./server.js";
import { reportDeliveryPolicy, runInventory } from "./inventory.js";

const DAY_MS = 86_400_000;

/** The real time moved by an offset the seed sets: writes and runs happen "days ago". */
export class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

/** Enough for writes dated a little over a year ago. */
export const SEED_MAX_SKEW_MS = 420 * DAY_MS;

export const SEED_SOURCE = "media";
export const SEED_DESTINATION = "inventory-reports";
export const SEED_CONFIG_ID = "daily-all-versions";

/** One row of the report as the seed knows it. */
interface Version {
  key: string;
  size: number;
  storageClass: string;
  encryption: "SSE-S3" | "SSE-C";
  multipart: boolean;
  current: boolean;
  deleteMarker: boolean;
  lastModified: number;
}

export interface SeedFacts {
  /** The runs' totals, oldest first: object versions (delete markers apart) and their bytes. */
  runs: { objects: Tally; rows: number }[];
  /** The last run's summary as worked out from the writes. */
  expected: {
    objects: Tally;
    current: Tally;
    noncurrent: Tally;
    deleteMarkers: number;
    multipart: Tally;
    storageClasses: Record<string, Tally>;
    encryption: Record<string, Tally>;
    prefixes: Record<string, Tally>;
  };
}

function tallyBy(versions: Version[], keyOf: (v: Version) => string): Record<string, Tally> {
  const out: Record<string, Tally> = {};
  for (const v of versions) {
    const t = (out[keyOf(v)] ??= { count: 0, bytes: 0 });
    t.count++;
    t.bytes += v.size;
  }
  return out;
}

const total = (versions: Version[]): Tally => ({ count: versions.length, bytes: versions.reduce((n, v) => n + v.size, 0) });

export async function seedConsoleDemo(server: TestServer, s3: S3Client, clock: ShiftedClock): Promise<SeedFacts> {
  const history: Version[] = [];
  const at = (daysAgo: number) => {
    clock.offsetMs = -daysAgo * DAY_MS;
  };
  const customerKey = randomBytes(32);
  const sseC = {
    SSECustomerAlgorithm: "AES256",
    SSECustomerKey: customerKey.toString("base64"),
  };

  async function put(key: string, size: number, storageClass: StorageClass = "STANDARD", encryption: Version["encryption"] = "SSE-S3"): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: SEED_SOURCE, Key: key, Body: randomBytes(size), StorageClass: storageClass, ...(encryption === "SSE-C" ? sseC : {}) }));
    for (const v of history) if (v.key === key) v.current = false;
    history.push({ key, size, storageClass, encryption, multipart: false, current: true, deleteMarker: false, lastModified: clock.now().getTime() });
  }

  async function putInParts(key: string, partSizes: number[]): Promise<void> {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: SEED_SOURCE, Key: key }));
    const parts = [];
    for (const [i, size] of partSizes.entries()) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: SEED_SOURCE, Key: key, UploadId, PartNumber: i + 1, Body: randomBytes(size) }));
      parts.push({ ETag, PartNumber: i + 1 });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: SEED_SOURCE, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
    for (const v of history) if (v.key === key) v.current = false;
    const size = partSizes.reduce((a, b) => a + b, 0);
    history.push({ key, size, storageClass: "STANDARD", encryption: "SSE-S3", multipart: true, current: true, deleteMarker: false, lastModified: clock.now().getTime() });
  }

  async function remove(key: string): Promise<void> {
    await s3.send(new DeleteObjectCommand({ Bucket: SEED_SOURCE, Key: key }));
    for (const v of history) if (v.key === key) v.current = false;
    history.push({ key, size: 0, storageClass: "", encryption: "SSE-S3", multipart: false, current: true, deleteMarker: true, lastModified: clock.now().getTime() });
  }

  const runs: SeedFacts["runs"] = [];
  async function report(): Promise<void> {
    const run = await runInventory(server, SEED_SOURCE, SEED_CONFIG_ID);
    if (run.status !== "succeeded") throw new Error(`seed report failed: ${run.error}`);
    const versions = history.filter((v) => !v.deleteMarker);
    runs.push({ objects: total(versions), rows: history.length });
  }

  at(400);
  for (const Bucket of [SEED_SOURCE, SEED_DESTINATION]) await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: SEED_SOURCE, VersioningConfiguration: { Status: "Enabled" } }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: SEED_DESTINATION, Policy: reportDeliveryPolicy(SEED_DESTINATION) }));
  for (let i = 1; i <= 3; i++) await put(`archive/2025/backup-${i}.tar`, 20_000 + i * 1000, "GLACIER");

  at(120);
  for (let i = 1; i <= 4; i++) await put(`logs/app-${i}.log`, 1500 * i, "STANDARD_IA");

  at(3);
  for (let i = 1; i <= 5; i++) await put(`photos/img-${i}.jpg`, 4096 * i);
  await put("readme.txt", 600);
  await s3.send(
    new PutBucketInventoryConfigurationCommand({
      Bucket: SEED_SOURCE,
      Id: SEED_CONFIG_ID,
      InventoryConfiguration: {
        Id: SEED_CONFIG_ID,
        IsEnabled: true,
        IncludedObjectVersions: "All",
        Schedule: { Frequency: "Daily" },
        OptionalFields: ["Size", "LastModifiedDate", "StorageClass", "ETag", "IsMultipartUploaded", "EncryptionStatus", "ReplicationStatus"],
        Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${SEED_DESTINATION}`, Format: "CSV", Prefix: "reports" } },
      },
    }),
  );
  clock.offsetMs += 3_600_000;
  await report();

  at(2);
  for (let i = 6; i <= 8; i++) await put(`photos/img-${i}.jpg`, 4096 * i);
  await put("photos/img-1.jpg", 5000);
  await put("private/key-material.bin", 3000, "STANDARD", "SSE-C");
  clock.offsetMs += 3_600_000;
  await report();

  at(1);
  await remove("logs/app-4.log");
  await putInParts("videos/clip-1.mp4", [5 * 1024 * 1024, 1024 * 1024]);
  await put("private/key-material-2.bin", 2000, "STANDARD", "SSE-C");
  clock.offsetMs += 3_600_000;
  await report();
  clock.offsetMs = 0;

  const versions = history.filter((v) => !v.deleteMarker);
  const prefixOf = (key: string) => (key.includes("/") ? key.slice(0, key.indexOf("/") + 1) : "");
  return {
    runs,
    expected: {
      objects: total(versions),
      current: total(versions.filter((v) => v.current)),
      noncurrent: total(versions.filter((v) => !v.current)),
      deleteMarkers: history.length - versions.length,
      multipart: total(versions.filter((v) => v.multipart)),
      storageClasses: tallyBy(versions, (v) => v.storageClass),
      encryption: tallyBy(versions, (v) => v.encryption),
      prefixes: tallyBy(versions, (v) => prefixOf(v.key)),
    },
  };
}
