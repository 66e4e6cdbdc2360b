// The inventory's EncryptionStatus and BucketKeyStatus columns in CSV, Parquet and ORC reports,
// one object per kind of encryption at rest: none (a server started with --default-encryption
// none), SSE-S3, SSE-KMS with and without a bucket key, DSSE-KMS and SSE-C.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { CreateBucketCommand, PutBucketInventoryConfigurationCommand, PutBucketPolicyCommand, PutObjectCommand, type InventoryFormat, type S3Client } from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCOUNT_ID, type TestServer } from "../helpers/server.js";
import { readReportRows, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";

const SOURCE = "enc-source";
const DEST = "enc-reports";

describe("encryption columns in inventory reports", () => {
  let server: TestServer;
  let s3: S3Client;

  before(async () => {
    server = await startTestServer({ defaultEncryption: "none" });
    s3 = server.client;
    await s3.send(new CreateBucketCommand({ Bucket: SOURCE }));
    await s3.send(new CreateBucketCommand({ Bucket: DEST }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST) }));
    await server.context.keys.createKey(TEST_ACCOUNT_ID, { alias: "alias/inv" });
    const put = (Key: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}) =>
      s3.send(new PutObjectCommand({ Bucket: SOURCE, Key, Body: Key, ...extra }));
    await put("none");
    await put("sse-s3", { ServerSideEncryption: "AES256" });
    await put("kms-bucket-key", { ServerSideEncryption: "aws:kms", SSEKMSKeyId: "alias/inv", BucketKeyEnabled: true });
    await put("kms-no-bucket-key", { ServerSideEncryption: "aws:kms", SSEKMSKeyId: "alias/inv" });
    await put("dsse", { ServerSideEncryption: "aws:kms:dsse", SSEKMSKeyId: "alias/inv" });
    await put("sse-c", { SSECustomerAlgorithm: "AES256", SSECustomerKey: randomBytes(32).toString("base64") });
  });
  after(() => server.stop());

  const expected = {
    none: ["NOT-SSE", null],
    // Real reports show DISABLED for SSE-S3 objects (docs/inventory-engine.md).
    "sse-s3": ["SSE-S3", "DISABLED"],
    "kms-bucket-key": ["SSE-KMS", "ENABLED"],
    "kms-no-bucket-key": ["SSE-KMS", "DISABLED"],
    dsse: ["DSSE-KMS", "DISABLED"],
    "sse-c": ["SSE-C", null],
  };

  for (const format of ["CSV", "Parquet", "ORC"] as InventoryFormat[]) {
    it(`writes S3's EncryptionStatus and BucketKeyStatus values in a ${format} report`, async () => {
      const Id = `enc-${format.toLowerCase()}`;
      await s3.send(
        new PutBucketInventoryConfigurationCommand({
          Bucket: SOURCE,
          Id,
          InventoryConfiguration: {
            Id,
            IsEnabled: true,
            IncludedObjectVersions: "Current",
            OptionalFields: ["EncryptionStatus", "BucketKeyStatus"],
            Schedule: { Frequency: "Daily" },
            Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: format } },
          },
        }),
      );
      const run = await runInventory(server, SOURCE, Id);
      assert.equal(run.status, "succeeded", run.error);
      const rows = await readReportRows(s3, DEST, run.manifestKey!);
      const got = Object.fromEntries(rows.map((r) => [r.key, [r.encryption_status, r.bucket_key_status]]));
      assert.deepEqual(got, expected);
    });
  }
});
