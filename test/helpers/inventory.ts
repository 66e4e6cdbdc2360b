// What the inventory report tests share: the destination policy S3 documents for report delivery,
// a run started on demand through Stocktake's endpoint, an object's bytes, and python3 (pyarrow,
// DuckDB) run asynchronously — the server under test runs in the test process, so a synchronous
// child would starve it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { CreateBucketCommand, GetObjectCommand, PutBucketInventoryConfigurationCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "./server.js";
import { signedFetch } from "./raw.js";
import { INVENTORY_FIELDS } from "../../src/inventory/fields.js";

/**
 * A destination bucket policy letting the S3 service principal write reports, as in S3's
 * documented example; with `sources`, only for those source buckets of `sourceAccount`.
 */
export function reportDeliveryPolicy(destination: string, opts: { sourceAccount?: string; sources?: string[] } = {}): string {
  const condition: Record<string, Record<string, string | string[]>> = {};
  if (opts.sources) condition.ArnLike = { "aws:SourceArn": opts.sources.map((s) => `arn:aws:s3:::${s}`) };
  if (opts.sourceAccount) condition.StringEquals = { "aws:SourceAccount": opts.sourceAccount, "s3:x-amz-acl": "bucket-owner-full-control" };
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "InventoryExamplePolicy",
        Effect: "Allow",
        Principal: { Service: "s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: [`arn:aws:s3:::${destination}/*`],
        ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
      },
    ],
  });
}

/**
 * The plainest report: source and destination buckets, the delivery policy, and a daily CSV
 * configuration "daily" of current versions; with `objects`, those keys put in the source first.
 */
export async function dailyCsvInventory(s3: S3Client, source: string, destination: string, objects: string[] = []): Promise<void> {
  for (const Bucket of [source, destination]) await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: destination, Policy: reportDeliveryPolicy(destination) }));
  for (const Key of objects) await s3.send(new PutObjectCommand({ Bucket: source, Key, Body: Key }));
  await s3.send(
    new PutBucketInventoryConfigurationCommand({
      Bucket: source,
      Id: "daily",
      InventoryConfiguration: {
        Id: "daily",
        IsEnabled: true,
        IncludedObjectVersions: "Current",
        Schedule: { Frequency: "Daily" },
        Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${destination}`, Format: "CSV" } },
      },
    }),
  );
}

export interface FinishedRun {
  status: string;
  manifestKey?: string;
  error?: string;
  rows: number;
}

/** Runs a configuration on demand (POST /{bucket}?inventory&id=…&run&wait) and waits for the outcome. */
export async function runInventory(server: TestServer, bucket: string, id: string, credentials = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }): Promise<FinishedRun> {
  const res = await signedFetch(server.url, credentials, "POST", `/${bucket}`, { inventory: "", id, run: "", wait: "" });
  assert.equal(res.status, 200, res.text);
  const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(res.text)?.[1];
  return { status: tag("Status")!, manifestKey: tag("ManifestKey"), error: tag("Error"), rows: Number(tag("Rows")) };
}

export async function getObjectBytes(s3: S3Client, Bucket: string, Key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** Runs a python3 script with arguments and resolves with its standard output. */
export function python(script: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("python3", ["-c", script, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** One report row, by ORC/Parquet column name (key, encryption_status, ...); dates as epoch ms. */
export type ReportRow = Record<string, string | number | boolean | null>;

const READ_COLUMNAR = `
import sys, json, datetime, pyarrow as pa, pyarrow.orc as po, pyarrow.parquet as pq
fmt, paths = sys.argv[1], sys.argv[2:]
t = pa.concat_tables([(po.read_table(p) if fmt == "ORC" else pq.read_table(p)) for p in paths])
def plain(v):
    if isinstance(v, datetime.datetime):
        return int(v.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000) if v.tzinfo is None else int(v.timestamp() * 1000)
    return v
print(json.dumps([{k: plain(v) for k, v in r.items()} for r in t.to_pylist()]))
`;

/**
 * Every row of a delivered report, whatever its format: CSV files are gunzipped and parsed here
 * (keys decoded as S3 encodes them, columns named from the manifest's fileSchema), ORC and
 * Parquet files are read by pyarrow. Values in CSV stay text, as the format has them.
 */
export async function readReportRows(s3: S3Client, destination: string, manifestKey: string): Promise<ReportRow[]> {
  const manifest = JSON.parse((await getObjectBytes(s3, destination, manifestKey)).toString()) as { fileFormat: string; fileSchema: string; files: { key: string }[] };
  const bodies = await Promise.all(manifest.files.map((f) => getObjectBytes(s3, destination, f.key)));
  if (manifest.fileFormat === "CSV") {
    const names = manifest.fileSchema.split(",").map((n) => INVENTORY_FIELDS.find((f) => f.name === n.trim())!.column);
    return bodies.flatMap((gz) =>
      gunzipSync(gz)
        .toString()
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const values = line.slice(1, -1).split('","');
          return Object.fromEntries(names.map((n, i) => [n, n === "key" ? decodeURIComponent(values[i]!.replace(/\+/g, " ")) : values[i] === "" ? null : values[i]!]));
        }),
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "stocktake-report-"));
  try {
    const paths = bodies.map((b, i) => {
      const path = join(dir, String(i));
      writeFileSync(path, b);
      return path;
    });
    return JSON.parse(await python(READ_COLUMNAR, manifest.fileFormat, ...paths)) as ReportRow[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
