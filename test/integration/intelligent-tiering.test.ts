// Intelligent-Tiering and archive restores end to end, on a ManualClock: the configuration API
// (AWS SDK v3 and boto3), objects moving down the access tiers as days pass without access and
// back up when read, archived objects refused until RestoreObject and the tiering pass have
// restored them, restored GLACIER copies expiring, and the inventory reports (CSV, Parquet, ORC)
// showing each object's tier.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketIntelligentTieringConfigurationCommand,
  GetBucketIntelligentTieringConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  InvalidObjectState,
  ListBucketIntelligentTieringConfigurationsCommand,
  PutBucketIntelligentTieringConfigurationCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  type IntelligentTieringConfiguration,
  type InventoryFormat,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ManualClock } from "../../src/clock.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { getObjectBytes, python, readReportRows, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const START = new Date("2026-03-03T10:00:00Z");
/** The smallest object S3 Intelligent-Tiering monitors. */
const MONITORED = Buffer.alloc(128 * 1024, 7);

const archiveAfter = (Id: string, days: number, Prefix?: string): IntelligentTieringConfiguration => ({
  Id,
  Status: "Enabled",
  ...(Prefix === undefined ? {} : { Filter: { Prefix } }),
  Tierings: [{ AccessTier: "ARCHIVE_ACCESS", Days: days }],
});

const BOTO3 = `
import sys, json, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2],
                  aws_secret_access_key=sys.argv[3], config=Config(s3={"addressing_style": "path"}))
`;

describe("Intelligent-Tiering and archive restores", () => {
  let server: TestServer;
  let s3: S3Client;
  const clock = new ManualClock(START);

  /** The stored access tier of a key's latest version. */
  const tierOf = async (bucket: string, key: string) => (await server.context.metadata.getLatest(bucket, key))?.extra.accessTier;

  /** GET the whole body (an access), then wait for the access to be recorded (it is not awaited by the GET). */
  async function read(bucket: string, key: string): Promise<void> {
    await getObjectBytes(s3, bucket, key);
    for (let i = 0; i < 100 && (await server.context.metadata.getLatest(bucket, key))?.extra.tieringReferenceDate !== clock.now().getTime(); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async function advance(ms: number): Promise<void> {
    clock.advance(ms);
    await server.tiering.runOnce();
  }

  before(async () => {
    server = await startTestServer({ clock, maxClockSkewMs: 100 * 365 * DAY });
    s3 = server.client;
  });
  after(async () => {
    await server.stop();
  });

  describe("the configuration API", () => {
    before(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "it-config" }));
    });

    it("stores, returns, pages through and deletes configurations", async () => {
      const config: IntelligentTieringConfiguration = {
        Id: "blue",
        Status: "Enabled",
        Filter: { And: { Prefix: "images/", Tags: [{ Key: "colour", Value: "blue" }, { Key: "priority", Value: "high" }] } },
        Tierings: [
          { AccessTier: "ARCHIVE_ACCESS", Days: 90 },
          { AccessTier: "DEEP_ARCHIVE_ACCESS", Days: 180 },
        ],
      };
      const put = await s3.send(new PutBucketIntelligentTieringConfigurationCommand({ Bucket: "it-config", Id: "blue", IntelligentTieringConfiguration: config }));
      assert.equal(put.$metadata.httpStatusCode, 200);
      const got = await s3.send(new GetBucketIntelligentTieringConfigurationCommand({ Bucket: "it-config", Id: "blue" }));
      assert.deepEqual(got.IntelligentTieringConfiguration, config);

      for (let i = 0; i < 100; i++) {
        const Id = `cfg-${String(i).padStart(3, "0")}`;
        await s3.send(new PutBucketIntelligentTieringConfigurationCommand({ Bucket: "it-config", Id, IntelligentTieringConfiguration: archiveAfter(Id, 90 + i) }));
      }
      const first = await s3.send(new ListBucketIntelligentTieringConfigurationsCommand({ Bucket: "it-config" }));
      assert.equal(first.IsTruncated, true);
      assert.equal(first.IntelligentTieringConfigurationList!.length, 100);
      assert.equal(first.IntelligentTieringConfigurationList![0]!.Id, "blue");
      const second = await s3.send(new ListBucketIntelligentTieringConfigurationsCommand({ Bucket: "it-config", ContinuationToken: first.NextContinuationToken }));
      assert.equal(second.IsTruncated, false);
      assert.equal(second.ContinuationToken, first.NextContinuationToken);
      assert.deepEqual(second.IntelligentTieringConfigurationList, [archiveAfter("cfg-099", 189)]);

      const deleted = await s3.send(new DeleteBucketIntelligentTieringConfigurationCommand({ Bucket: "it-config", Id: "blue" }));
      assert.equal(deleted.$metadata.httpStatusCode, 204);
      await rejectsWith(s3.send(new GetBucketIntelligentTieringConfigurationCommand({ Bucket: "it-config", Id: "blue" })), "NoSuchConfiguration", 404);
      await rejectsWith(s3.send(new DeleteBucketIntelligentTieringConfigurationCommand({ Bucket: "it-config", Id: "blue" })), "NoSuchConfiguration", 404);
    });

    it("refuses invalid configurations with S3's codes", async () => {
      const put = (Id: string, config: IntelligentTieringConfiguration) =>
        s3.send(new PutBucketIntelligentTieringConfigurationCommand({ Bucket: "it-config", Id, IntelligentTieringConfiguration: config }));
      await rejectsWith(put("a", { ...archiveAfter("a", 90), Tierings: [{ AccessTier: "ARCHIVE_ACCESS", Days: 89 }] }), "InvalidArgument", 400);
      await rejectsWith(put("a", { ...archiveAfter("a", 90), Tierings: [{ AccessTier: "DEEP_ARCHIVE_ACCESS", Days: 731 }] }), "InvalidArgument", 400);
      await rejectsWith(put("a", { ...archiveAfter("a", 90), Tierings: [{ AccessTier: "INFREQUENT" as "ARCHIVE_ACCESS", Days: 90 }] }), "MalformedXML", 400);
      await rejectsWith(put("a", { ...archiveAfter("a", 90), Status: "On" as "Enabled" }), "MalformedXML", 400);
      await rejectsWith(put("a", { ...archiveAfter("a", 90), Tierings: [] }), "MalformedXML", 400);
      await rejectsWith(put("a", archiveAfter("b", 90)), "IdMismatch", 400);
      await rejectsWith(s3.send(new GetBucketIntelligentTieringConfigurationCommand({ Bucket: "it-config", Id: "missing" })), "NoSuchConfiguration", 404);
      await rejectsWith(s3.send(new GetBucketIntelligentTieringConfigurationCommand({ Bucket: "no-such-bucket", Id: "a" })), "NoSuchBucket", 404);
    });
  });

  describe("access tiers", () => {
    const B = "it-tiers";
    before(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await s3.send(new PutBucketIntelligentTieringConfigurationCommand({ Bucket: B, Id: "archive", IntelligentTieringConfiguration: archiveAfter("archive", 90, "arch/") }));
      for (const Key of ["hot", "warm", "cold", "arch/x"]) {
        await s3.send(new PutObjectCommand({ Bucket: B, Key, Body: MONITORED, StorageClass: "INTELLIGENT_TIERING" }));
      }
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "small", Body: "under 128 KiB", StorageClass: "INTELLIGENT_TIERING" }));
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "std", Body: MONITORED }));
    });

    it("moves objects down after 30 and 90 days without access, to Archive Access when configured, and back up on a GET", async () => {
      assert.equal(await tierOf(B, "hot"), "FREQUENT");
      await advance(31 * DAY);
      assert.deepEqual(await Promise.all(["hot", "warm", "cold", "arch/x", "small"].map((k) => tierOf(B, k))), ["INFREQUENT", "INFREQUENT", "INFREQUENT", "INFREQUENT", "FREQUENT"]);
      await read(B, "warm");
      await read(B, "hot");
      assert.equal(await tierOf(B, "warm"), "FREQUENT");

      clock.advance(60 * DAY);
      // HEAD is not an access: "cold" keeps ageing.
      await s3.send(new HeadObjectCommand({ Bucket: B, Key: "cold" }));
      await read(B, "hot");
      await server.tiering.runOnce();
      assert.deepEqual(await Promise.all(["hot", "warm", "cold", "arch/x", "small"].map((k) => tierOf(B, k))), ["FREQUENT", "INFREQUENT", "ARCHIVE_INSTANT_ACCESS", "ARCHIVE_ACCESS", "FREQUENT"]);
      assert.equal(await tierOf(B, "std"), undefined);

      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "arch/x" }));
      assert.equal(head.StorageClass, "INTELLIGENT_TIERING");
      assert.equal(head.ArchiveStatus, "ARCHIVE_ACCESS");
      assert.equal(head.Restore, undefined);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: B, Key: "cold" }))).ArchiveStatus, undefined);
      await assert.rejects(s3.send(new GetObjectCommand({ Bucket: B, Key: "arch/x" })), (err: unknown) => {
        assert.ok(err instanceof InvalidObjectState, String(err));
        assert.equal(err.$metadata.httpStatusCode, 403);
        assert.equal(err.StorageClass, "INTELLIGENT_TIERING");
        assert.equal(err.AccessTier, "ARCHIVE_ACCESS");
        return true;
      });
      await rejectsWith(s3.send(new CopyObjectCommand({ Bucket: B, Key: "copy", CopySource: `${B}/arch/x` })), "InvalidObjectState", 403);
    });

    it("reports each object's tier in CSV, Parquet and ORC inventory reports", async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "it-reports" }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: "it-reports", Policy: reportDeliveryPolicy("it-reports") }));
      const expected: Record<string, string | null> = {
        hot: "FREQUENT",
        warm: "INFREQUENT",
        cold: "ARCHIVE_INSTANT_ACCESS",
        // Reports name the opt-in archive tiers ARCHIVE and DEEP_ARCHIVE, not by their API names.
        "arch/x": "ARCHIVE",
        small: "FREQUENT",
        std: null,
      };
      const formats: InventoryFormat[] = ["CSV", "Parquet", "ORC"];
      for (const format of formats) {
        const Id = `tiers-${format.toLowerCase()}`;
        await s3.send(
          new PutBucketInventoryConfigurationCommand({
            Bucket: B,
            Id,
            InventoryConfiguration: {
              Id,
              IsEnabled: true,
              IncludedObjectVersions: "Current",
              OptionalFields: ["StorageClass", "IntelligentTieringAccessTier"],
              Schedule: { Frequency: "Daily" },
              Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::it-reports", Format: format } },
            },
          }),
        );
        const run = await runInventory(server, B, Id);
        assert.equal(run.status, "succeeded", run.error);
        const rows = (await readReportRows(s3, "it-reports", run.manifestKey!)).map((r) => [r.key, r.storage_class, r.intelligent_tiering_access_tier] as const);
        const tiers = Object.fromEntries(rows.map(([key, , tier]) => [key, tier]));
        assert.deepEqual(tiers, expected, `${format} report`);
        assert.equal(rows.find(([key]) => key === "std")![1], "STANDARD");
      }
    });

    it("restores an object from Archive Access (no Days) into Frequent Access after the retrieval time", async () => {
      await rejectsWith(s3.send(new RestoreObjectCommand({ Bucket: B, Key: "arch/x", RestoreRequest: { Days: 1 } })), "InvalidArgument", 400);
      await rejectsWith(s3.send(new RestoreObjectCommand({ Bucket: B, Key: "cold", RestoreRequest: {} })), "InvalidObjectState", 403);
      const started = await s3.send(new RestoreObjectCommand({ Bucket: B, Key: "arch/x", RestoreRequest: { GlacierJobParameters: { Tier: "Standard" } } }));
      assert.equal(started.$metadata.httpStatusCode, 202);
      const restoring = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "arch/x" }));
      assert.equal(restoring.ArchiveStatus, "ARCHIVE_ACCESS");
      assert.equal(restoring.Restore, 'ongoing-request="true"');
      await rejectsWith(s3.send(new RestoreObjectCommand({ Bucket: B, Key: "arch/x", RestoreRequest: {} })), "RestoreAlreadyInProgress", 409);
      await rejectsWith(s3.send(new GetObjectCommand({ Bucket: B, Key: "arch/x" })), "InvalidObjectState", 403);

      await advance(4 * HOUR);
      await rejectsWith(s3.send(new GetObjectCommand({ Bucket: B, Key: "arch/x" })), "InvalidObjectState", 403);
      await advance(HOUR);
      assert.equal(await tierOf(B, "arch/x"), "FREQUENT");
      const restored = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "arch/x" }));
      assert.equal(restored.ArchiveStatus, undefined);
      assert.equal(restored.Restore, undefined);
      assert.equal((await getObjectBytes(s3, B, "arch/x")).length, MONITORED.length);
    });
  });

  describe("GLACIER and DEEP_ARCHIVE", () => {
    const B = "glacier";
    before(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "g", Body: "frozen", StorageClass: "GLACIER" }));
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "ir", Body: "instant", StorageClass: "GLACIER_IR" }));
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "std", Body: "standard" }));
    });

    it("refuses the bytes until restored, serves them until the restored copy expires, then refuses again", async () => {
      await rejectsWith(s3.send(new GetObjectCommand({ Bucket: B, Key: "g" })), "InvalidObjectState", 403);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: B, Key: "g" }))).StorageClass, "GLACIER");
      assert.equal((await getObjectBytes(s3, B, "ir")).toString(), "instant");
      await rejectsWith(s3.send(new RestoreObjectCommand({ Bucket: B, Key: "g", RestoreRequest: {} })), "MalformedXML", 400);
      await rejectsWith(s3.send(new RestoreObjectCommand({ Bucket: B, Key: "std", RestoreRequest: { Days: 1 } })), "InvalidObjectState", 403);
      await rejectsWith(s3.send(new RestoreObjectCommand({ Bucket: B, Key: "ir", RestoreRequest: { Days: 1 } })), "InvalidObjectState", 403);
      await rejectsWith(s3.send(new RestoreObjectCommand({ Bucket: B, Key: "missing", RestoreRequest: { Days: 1 } })), "NoSuchKey", 404);

      const started = await s3.send(new RestoreObjectCommand({ Bucket: B, Key: "g", RestoreRequest: { Days: 2, GlacierJobParameters: { Tier: "Expedited" } } }));
      assert.equal(started.$metadata.httpStatusCode, 202);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: B, Key: "g" }))).Restore, 'ongoing-request="true"');
      await rejectsWith(s3.send(new RestoreObjectCommand({ Bucket: B, Key: "g", RestoreRequest: { Days: 2 } })), "RestoreAlreadyInProgress", 409);

      await advance(5 * 60 * 1000);
      const restoredAt = clock.now().getTime();
      const expiry = new Date(restoredAt - (restoredAt % DAY) + 3 * DAY);
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "g" }));
      assert.equal(head.Restore, `ongoing-request="false", expiry-date="${expiry.toUTCString()}"`);
      assert.equal((await getObjectBytes(s3, B, "g")).toString(), "frozen");

      const extended = await s3.send(new RestoreObjectCommand({ Bucket: B, Key: "g", RestoreRequest: { Days: 5 } }));
      assert.equal(extended.$metadata.httpStatusCode, 200);
      const later = new Date(expiry.getTime() + 3 * DAY);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: B, Key: "g" }))).Restore, `ongoing-request="false", expiry-date="${later.toUTCString()}"`);

      clock.set(later);
      await rejectsWith(s3.send(new GetObjectCommand({ Bucket: B, Key: "g" })), "InvalidObjectState", 403);
      await server.tiering.runOnce();
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: B, Key: "g" }))).Restore, undefined);
    });

    it("works with boto3: the configuration, restore_object and head_object's Restore", async () => {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "deep", Body: "deeper", StorageClass: "DEEP_ARCHIVE" }));
      const args = [server.url, TEST_ACCESS_KEY, TEST_SECRET_KEY];
      const first = JSON.parse(
        await python(
          BOTO3 +
            `
cfg = {"Id": "py", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Tierings": [{"Days": 200, "AccessTier": "DEEP_ARCHIVE_ACCESS"}]}
s3.put_bucket_intelligent_tiering_configuration(Bucket="${B}", Id="py", IntelligentTieringConfiguration=cfg)
got = s3.get_bucket_intelligent_tiering_configuration(Bucket="${B}", Id="py")["IntelligentTieringConfiguration"]
try:
    s3.get_object(Bucket="${B}", Key="deep")
    refused = None
except ClientError as e:
    refused = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("StorageClass")]
try:
    s3.restore_object(Bucket="${B}", Key="deep", RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}})
    expedited = None
except ClientError as e:
    expedited = e.response["Error"]["Code"]
r = s3.restore_object(Bucket="${B}", Key="deep", RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Bulk"}})
print(json.dumps({"same": got == cfg, "refused": refused, "expedited": expedited, "status": r["ResponseMetadata"]["HTTPStatusCode"],
                  "restore": s3.head_object(Bucket="${B}", Key="deep").get("Restore")}))
`,
          ...args,
        ),
      ) as Record<string, unknown>;
      assert.deepEqual(first, { same: true, refused: ["InvalidObjectState", 403, "DEEP_ARCHIVE"], expedited: "InvalidArgument", status: 202, restore: 'ongoing-request="true"' });

      await advance(48 * HOUR);
      const after = JSON.parse(
        await python(
          BOTO3 + `print(json.dumps({"restore": s3.head_object(Bucket="${B}", Key="deep").get("Restore"), "body": s3.get_object(Bucket="${B}", Key="deep")["Body"].read().decode()}))`,
          ...args,
        ),
      ) as { restore: string; body: string };
      assert.match(after.restore, /^ongoing-request="false", expiry-date="\w{3}, \d{2} \w{3} \d{4} 00:00:00 GMT"$/);
      assert.equal(after.body, "deeper");
    });
  });
});
