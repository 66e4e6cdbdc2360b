// Bucket lifecycle through the AWS SDK v3 and boto3: the configuration API and its errors, the
// x-amz-expiration header, the background pass driven by a ManualClock (expiration after N days,
// delete markers in versioned buckets, noncurrent expiration with NewerNoncurrentVersions, expired
// delete marker cleanup, aborted uploads, transitions, tag/prefix/size filters), and the inventory's
// LifecycleExpirationDate column in CSV, Parquet and ORC.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketInventoryConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type LifecycleRule,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ManualClock } from "../../src/clock.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { getObjectBytes, python, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";
import { signedFetch } from "../helpers/raw.js";

const DAY = 86_400_000;
/** The clients sign with the real time while the server's clock is moved by hand. */
const START = new Date("2026-03-03T10:00:00Z");

describe("bucket lifecycle", () => {
  let server: TestServer;
  let s3: S3Client;
  let clock: ManualClock;
  let work: string;

  before(async () => {
    clock = new ManualClock(START);
    server = await startTestServer({ clock, maxClockSkewMs: 100 * 365 * DAY });
    s3 = server.client;
    work = mkdtempSync(join(tmpdir(), "stocktake-lifecycle-"));
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  });

  const bucket = async (Bucket: string, versioned = false) => {
    await s3.send(new CreateBucketCommand({ Bucket }));
    if (versioned) await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
  };
  const rules = (Bucket: string, Rules: LifecycleRule[]) => s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
  const keys = async (Bucket: string) => ((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents ?? []).map((o) => o.Key);
  const versions = async (Bucket: string) => {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    return [...(out.Versions ?? []).map((v) => `${v.Key}:${v.IsLatest ? "latest" : "old"}`), ...(out.DeleteMarkers ?? []).map((m) => `${m.Key}:marker${m.IsLatest ? "-latest" : ""}`)].sort();
  };

  it("stores, returns and deletes a configuration; NoSuchLifecycleConfiguration when there is none", async () => {
    await bucket("lc-api");
    await rejectsWith(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "lc-api" })), "NoSuchLifecycleConfiguration", 404);
    const Rules: LifecycleRule[] = [
      { ID: "logs", Status: "Enabled", Filter: { Prefix: "logs/" }, Expiration: { Days: 30 }, Transitions: [{ Days: 0, StorageClass: "GLACIER" }] },
      {
        ID: "tagged",
        Status: "Disabled",
        Filter: { And: { Prefix: "docs/", Tags: [{ Key: "a", Value: "1" }], ObjectSizeGreaterThan: 100 } },
        NoncurrentVersionExpiration: { NoncurrentDays: 10, NewerNoncurrentVersions: 2 },
        NoncurrentVersionTransitions: [{ NoncurrentDays: 30, StorageClass: "STANDARD_IA", NewerNoncurrentVersions: 1 }],
      },
      { ID: "markers", Status: "Enabled", Filter: {}, Expiration: { ExpiredObjectDeleteMarker: true } },
    ];
    const put = await rules("lc-api", Rules);
    assert.equal(put.TransitionDefaultMinimumObjectSize, "all_storage_classes_128K");
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "lc-api" }));
    assert.equal(got.TransitionDefaultMinimumObjectSize, "all_storage_classes_128K");
    assert.deepEqual(got.Rules, [
      { ID: "logs", Status: "Enabled", Filter: { Prefix: "logs/" }, Expiration: { Days: 30 }, Transitions: [{ Days: 0, StorageClass: "GLACIER" }] },
      {
        ID: "tagged",
        Status: "Disabled",
        Filter: { And: { Prefix: "docs/", Tags: [{ Key: "a", Value: "1" }], ObjectSizeGreaterThan: 100 } },
        NoncurrentVersionExpiration: { NoncurrentDays: 10, NewerNoncurrentVersions: 2 },
        NoncurrentVersionTransitions: [{ NoncurrentDays: 30, StorageClass: "STANDARD_IA", NewerNoncurrentVersions: 1 }],
      },
      { ID: "markers", Status: "Enabled", Filter: {}, Expiration: { ExpiredObjectDeleteMarker: true } },
    ]);
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: "lc-api" }));
    await rejectsWith(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "lc-api" })), "NoSuchLifecycleConfiguration", 404);
  });

  it("refuses invalid configurations with S3's codes and keeps the previous one", async () => {
    await bucket("lc-errors");
    await rules("lc-errors", [{ ID: "keep", Status: "Enabled", Filter: { Prefix: "" }, Expiration: { Days: 5 } }]);
    await rejectsWith(rules("lc-errors", [{ ID: "r", Status: "Enabled", Filter: {}, Expiration: { Days: 0 } }]), "InvalidArgument", 400);
    await rejectsWith(rules("lc-errors", [{ ID: "r", Status: "Enabled", Filter: {} }]), "InvalidRequest", 400);
    await rejectsWith(rules("lc-errors", [{ ID: "r", Status: "Enabled", Filter: {}, Expiration: { Date: new Date("2030-01-01T12:00:00Z") } }]), "InvalidArgument", 400);
    await rejectsWith(
      rules("lc-errors", [
        { ID: "same", Status: "Enabled", Filter: {}, Expiration: { Days: 1 } },
        { ID: "same", Status: "Enabled", Filter: {}, Expiration: { Days: 2 } },
      ]),
      "InvalidArgument",
      400,
    );
    await rejectsWith(rules("lc-errors", [{ ID: "r", Status: "Enabled", Filter: {}, Transitions: [{ Days: 1, StorageClass: "STANDARD_IA" }] }]), "InvalidArgument", 400);
    await rejectsWith(rules("lc-errors", [{ ID: "r", Status: "Enabled", Filter: { Tag: { Key: "k", Value: "v" } }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }]), "InvalidRequest", 400);
    const creds = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
    const valid = "<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>";
    const noDigest = await signedFetch(server.url, creds, "PUT", "/lc-errors", { lifecycle: "" }, valid);
    assert.equal(noDigest.status, 400);
    assert.match(noDigest.text, /<Code>InvalidRequest<\/Code>/);
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "lc-errors" }));
    assert.deepEqual(got.Rules?.map((r) => r.ID), ["keep"]);
  });

  it("names the expiry in x-amz-expiration on PUT and HEAD of matching objects only", async () => {
    await bucket("lc-header");
    await rules("lc-header", [{ ID: "tmp files", Status: "Enabled", Filter: { Prefix: "tmp/" }, Expiration: { Days: 3 } }]);
    const put = await s3.send(new PutObjectCommand({ Bucket: "lc-header", Key: "tmp/a", Body: "x" }));
    // Written 2026-03-03 10:00 UTC + 3 days, rounded up to the next midnight.
    const expected = 'expiry-date="Sat, 07 Mar 2026 00:00:00 GMT", rule-id="tmp%20files"';
    assert.equal(put.Expiration, expected);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "lc-header", Key: "tmp/a" }))).Expiration, expected);
    const other = await s3.send(new PutObjectCommand({ Bucket: "lc-header", Key: "keep/b", Body: "x" }));
    assert.equal(other.Expiration, undefined);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "lc-header", Key: "keep/b" }))).Expiration, undefined);
  });

  it("expires current objects at the due midnight, filtered by prefix, tag and size", async () => {
    await bucket("lc-expire");
    await rules("lc-expire", [
      { ID: "prefix", Status: "Enabled", Filter: { Prefix: "tmp/" }, Expiration: { Days: 2 } },
      { ID: "tag", Status: "Enabled", Filter: { Tag: { Key: "class", Value: "scratch" } }, Expiration: { Days: 2 } },
      { ID: "size", Status: "Enabled", Filter: { And: { Prefix: "big/", ObjectSizeGreaterThan: 10 } }, Expiration: { Days: 2 } },
      { ID: "off", Status: "Disabled", Filter: { Prefix: "keep/" }, Expiration: { Days: 1 } },
    ]);
    const t0 = clock.now().getTime();
    await s3.send(new PutObjectCommand({ Bucket: "lc-expire", Key: "tmp/a", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-expire", Key: "tagged", Body: "x", Tagging: "class=scratch" }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-expire", Key: "tagged-other", Body: "x", Tagging: "class=keep" }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-expire", Key: "big/large", Body: "x".repeat(11) }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-expire", Key: "big/small", Body: "x".repeat(10) }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-expire", Key: "keep/c", Body: "x" }));
    const all = ["big/large", "big/small", "keep/c", "tagged", "tagged-other", "tmp/a"];
    // Written at 10:00 on day 0: due at midnight starting day 3.
    clock.set(new Date(Math.floor(t0 / DAY) * DAY + 3 * DAY - 1));
    await server.lifecycle.runOnce();
    assert.deepEqual(await keys("lc-expire"), all, "nothing before the due midnight");
    clock.set(new Date(Math.floor(t0 / DAY) * DAY + 3 * DAY));
    await server.lifecycle.runOnce();
    assert.deepEqual(await keys("lc-expire"), ["big/small", "keep/c", "tagged-other"]);
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: "lc-expire" }));
  });

  it("in a versioned bucket: adds a delete marker, expires noncurrent versions keeping the newest, removes lone delete markers", async () => {
    await bucket("lc-versions", true);
    await rules("lc-versions", [
      { ID: "current", Status: "Enabled", Filter: { Prefix: "cur/" }, Expiration: { Days: 1 } },
      { ID: "noncurrent", Status: "Enabled", Filter: { Prefix: "nc/" }, NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 } },
      { ID: "markers", Status: "Enabled", Filter: { Prefix: "dm/" }, Expiration: { ExpiredObjectDeleteMarker: true } },
    ]);
    await s3.send(new PutObjectCommand({ Bucket: "lc-versions", Key: "cur/a", Body: "1" }));
    for (const body of ["1", "2", "3", "4"]) await s3.send(new PutObjectCommand({ Bucket: "lc-versions", Key: "nc/b", Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-versions", Key: "dm/lone", Body: "1" }));
    await s3.send(new DeleteObjectCommand({ Bucket: "lc-versions", Key: "dm/lone" }));
    const { Versions } = await s3.send(new ListObjectVersionsCommand({ Bucket: "lc-versions", Prefix: "dm/lone" }));
    await s3.send(new DeleteObjectCommand({ Bucket: "lc-versions", Key: "dm/lone", VersionId: Versions![0]!.VersionId }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-versions", Key: "dm/kept", Body: "1" }));
    await s3.send(new DeleteObjectCommand({ Bucket: "lc-versions", Key: "dm/kept" }));
    assert.deepEqual(await versions("lc-versions"), ["cur/a:latest", "dm/kept:marker-latest", "dm/kept:old", "dm/lone:marker-latest", "nc/b:latest", "nc/b:old", "nc/b:old", "nc/b:old"]);

    clock.advance(2 * DAY);
    await server.lifecycle.runOnce();
    assert.deepEqual(await versions("lc-versions"), ["cur/a:marker-latest", "cur/a:old", "dm/kept:marker-latest", "dm/kept:old", "nc/b:latest", "nc/b:old"]);
    assert.deepEqual(await keys("lc-versions"), ["nc/b"]);
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: "lc-versions" }));
  });

  it("aborts incomplete multipart uploads DaysAfterInitiation after they began", async () => {
    await bucket("lc-uploads");
    await rules("lc-uploads", [{ ID: "abort", Status: "Enabled", Filter: { Prefix: "up/" }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }]);
    await s3.send(new CreateMultipartUploadCommand({ Bucket: "lc-uploads", Key: "up/old" }));
    await s3.send(new CreateMultipartUploadCommand({ Bucket: "lc-uploads", Key: "other/old" }));
    clock.advance(DAY);
    await server.lifecycle.runOnce();
    const listed = async () => ((await s3.send(new ListMultipartUploadsCommand({ Bucket: "lc-uploads" }))).Uploads ?? []).map((u) => u.Key);
    assert.deepEqual(await listed(), ["other/old", "up/old"]);
    clock.advance(2 * DAY);
    await server.lifecycle.runOnce();
    assert.deepEqual(await listed(), ["other/old"]);
  });

  it("transitions objects of at least 128 KiB to the rule's storage class", async () => {
    await bucket("lc-transition");
    await rules("lc-transition", [{ ID: "ia", Status: "Enabled", Filter: {}, Transitions: [{ Days: 30, StorageClass: "STANDARD_IA" }] }]);
    await s3.send(new PutObjectCommand({ Bucket: "lc-transition", Key: "big", Body: Buffer.alloc(128 * 1024) }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-transition", Key: "small", Body: "x" }));
    clock.advance(31 * DAY);
    await server.lifecycle.runOnce();
    const classes = ((await s3.send(new ListObjectsV2Command({ Bucket: "lc-transition" }))).Contents ?? []).map((o) => [o.Key, o.StorageClass]);
    assert.deepEqual(classes, [["big", "STANDARD_IA"], ["small", "STANDARD"]]);
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: "lc-transition" }));
  });

  it("fills LifecycleExpirationDate in CSV, Parquet and ORC reports from the rules at report time", async () => {
    await bucket("lc-inv");
    await bucket("lc-inv-dest");
    await s3.send(new PutBucketPolicyCommand({ Bucket: "lc-inv-dest", Policy: reportDeliveryPolicy("lc-inv-dest", { sourceAccount: server.root.accountId, sources: ["lc-inv"] }) }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-inv", Key: "exp/a", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: "lc-inv", Key: "stay/b", Body: "x" }));
    // Rules added after the writes still date the objects: the column follows the rules as they are.
    await rules("lc-inv", [{ ID: "exp", Status: "Enabled", Filter: { Prefix: "exp/" }, Expiration: { Days: 10 } }]);
    const written = (await s3.send(new HeadObjectCommand({ Bucket: "lc-inv", Key: "exp/a" }))).LastModified!.getTime();
    const due = (Math.floor((written + 10 * DAY) / DAY) + 1) * DAY;
    const expected = [["exp/a", due], ["stay/b", null]];

    for (const format of ["CSV", "Parquet", "ORC"] as const) {
      const id = `exp-${format.toLowerCase()}`;
      await s3.send(
        new PutBucketInventoryConfigurationCommand({
          Bucket: "lc-inv",
          Id: id,
          InventoryConfiguration: {
            Id: id,
            IsEnabled: true,
            IncludedObjectVersions: "Current",
            Schedule: { Frequency: "Daily" },
            OptionalFields: ["LifecycleExpirationDate"],
            Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::lc-inv-dest", Format: format } },
          },
        }),
      );
      const run = await runInventory(server, "lc-inv", id);
      assert.equal(run.status, "succeeded", run.error);
      const manifest = JSON.parse((await getObjectBytes(s3, "lc-inv-dest", run.manifestKey!)).toString()) as { files: { key: string }[] };
      const data = await getObjectBytes(s3, "lc-inv-dest", manifest.files[0]!.key);
      let rows: [string, number | null][];
      if (format === "CSV") {
        rows = gunzipSync(data)
          .toString()
          .trim()
          .split("\n")
          .map((line) => {
            const [, key, date] = JSON.parse(`[${line}]`) as string[];
            return [decodeURIComponent(key!), date === "" ? null : Date.parse(date!)];
          });
        assert.match(gunzipSync(data).toString(), /"exp\/a","\d{4}-\d\d-\d\dT00:00:00\.000Z"/);
      } else {
        const path = join(work, `${id}.${format.toLowerCase()}`);
        writeFileSync(path, data);
        const reader = format === "ORC" ? "import pyarrow.orc as po; t = po.ORCFile(p).read()" : "import pyarrow.parquet as pq; t = pq.read_table(p)";
        const out = await python(
          `
import sys, json, pyarrow as pa
p = sys.argv[1]
${reader}
col = t.column("lifecycle_expiration_date")
print(json.dumps({"type": str(col.type), "rows": [[k, v] for k, v in zip(t.column("key").to_pylist(), col.cast(pa.int64()).to_pylist())]}))
`,
          path,
        );
        const view = JSON.parse(out) as { type: string; rows: [string, number | null][] };
        assert.match(view.type, /^timestamp/);
        // ORC timestamps may come back in ns or ms: scale to ms.
        rows = view.rows.map(([k, v]) => [k, v === null ? null : v > 1e15 ? Math.round(v / 1e6) : v]);
      }
      assert.deepEqual(rows, expected, format);
    }
    const duck = await python(
      `import sys, duckdb; print(duckdb.sql(f"select count(lifecycle_expiration_date) from read_parquet('{sys.argv[1]}')").fetchone()[0])`,
      join(work, "exp-parquet.parquet"),
    );
    assert.equal(duck.trim(), "1", "DuckDB sees one dated row");
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: "lc-inv" }));
  });

  it("works from boto3: put and get a lifecycle configuration, and its errors", async () => {
    await bucket("lc-boto");
    const out = await python(
      `
import sys, json, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], config=Config(s3={"addressing_style": "path"}))
def code(f):
    try:
        f()
        return None
    except s3.exceptions.ClientError as e:
        return [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
missing = code(lambda: s3.get_bucket_lifecycle_configuration(Bucket="lc-boto"))
s3.put_bucket_lifecycle_configuration(Bucket="lc-boto", LifecycleConfiguration={"Rules": [
    {"ID": "one", "Status": "Enabled", "Filter": {"Prefix": "a/"}, "Expiration": {"Days": 7}},
    {"ID": "two", "Status": "Enabled", "Prefix": "b/", "NoncurrentVersionExpiration": {"NoncurrentDays": 3}},
]})
got = s3.get_bucket_lifecycle_configuration(Bucket="lc-boto")["Rules"]
bad = code(lambda: s3.put_bucket_lifecycle_configuration(Bucket="lc-boto", LifecycleConfiguration={"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}}]}))
print(json.dumps([missing, got, bad]))
`,
      server.url,
      TEST_ACCESS_KEY,
      TEST_SECRET_KEY,
    );
    assert.deepEqual(JSON.parse(out), [
      ["NoSuchLifecycleConfiguration", 404],
      [
        { ID: "one", Status: "Enabled", Filter: { Prefix: "a/" }, Expiration: { Days: 7 } },
        { ID: "two", Status: "Enabled", Prefix: "b/", NoncurrentVersionExpiration: { NoncurrentDays: 3 } },
      ],
      ["InvalidArgument", 400],
    ]);
  });

  /** A lifecycle pass during which `write` runs once, right after the pass lists a page of `Bucket`'s versions. */
  const passWithWriteAfterListing = async (Bucket: string, write: () => Promise<unknown>) => {
    const metadata = server.context.metadata;
    const listVersions = metadata.listVersions;
    metadata.listVersions = async (query) => {
      const page = await listVersions.call(metadata, query);
      if (query.bucket === Bucket) {
        metadata.listVersions = listVersions;
        await write();
      }
      return page;
    };
    try {
      await server.lifecycle.runOnce();
    } finally {
      metadata.listVersions = listVersions;
    }
  };

  it("expires nothing written again after the pass read it, unversioned or versioned: the new object is not the one found due", async () => {
    for (const versioned of [false, true]) {
      const Bucket = versioned ? "lc-rewritten-versioned" : "lc-rewritten";
      await bucket(Bucket, versioned);
      await rules(Bucket, [{ ID: "all", Status: "Enabled", Filter: { Prefix: "" }, Expiration: { Days: 1 } }]);
      await s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "old" }));
      clock.set(new Date(clock.now().getTime() + 3 * DAY));
      // The key is written again between the pass's listing and its expiration of what it listed.
      await passWithWriteAfterListing(Bucket, () => s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "new" })));
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key: "k" }));
      assert.equal(head.ContentLength, 3, Bucket);
      assert.equal(head.ETag, `"${createHash("md5").update("new").digest("hex")}"`, Bucket);
    }
  });

  it("keeps a noncurrent version found due if it is made current again before the pass deletes it", async () => {
    const Bucket = "lc-current-again";
    await bucket(Bucket, true);
    await rules(Bucket, [{ ID: "noncurrent", Status: "Enabled", Filter: { Prefix: "" }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }]);
    await s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "first" }));
    const second = await s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "second" }));
    clock.set(new Date(clock.now().getTime() + 3 * DAY));
    // The newer version is deleted for good between the pass's listing and its deletes: "first" is current again.
    await passWithWriteAfterListing(Bucket, () => s3.send(new DeleteObjectCommand({ Bucket, Key: "k", VersionId: second.VersionId })));
    assert.deepEqual(await versions(Bucket), ["k:latest"]);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: "k" }))).ContentLength, 5);
  });
});

