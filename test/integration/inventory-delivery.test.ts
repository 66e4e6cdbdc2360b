// How reports are delivered into the destination: encrypted as the configuration asks (the
// headers S3 returns for the report's objects), and refused when the destination is in another
// region than the source.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  type InventoryConfiguration,
  type InventoryEncryption,
} from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";

const SOURCE = "delivery-source";
const DEST = "delivery-dest";
/** A key of the source bucket owner's, made in the server's local key service. */
let KMS_KEY = "";

function config(id: string, encryption?: InventoryEncryption): InventoryConfiguration {
  return {
    Id: id,
    IsEnabled: true,
    IncludedObjectVersions: "Current",
    Schedule: { Frequency: "Daily" },
    Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: "CSV", Prefix: id, Encryption: encryption } },
  };
}

describe("inventory report delivery", () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    KMS_KEY = (await server.context.keys.createKey(TEST_ACCOUNT_ID)).arn;
    const s3 = server.client;
    await s3.send(new CreateBucketCommand({ Bucket: SOURCE }));
    await s3.send(new CreateBucketCommand({ Bucket: DEST }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST) }));
    await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: "k", Body: "v" }));
  });
  after(async () => {
    await server.stop();
  });

  /** Every object of one report, with the encryption headers a HEAD returns for it. */
  async function reportHeads(prefix: string) {
    const s3 = server.client;
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: DEST, Prefix: `${prefix}/` }));
    assert.equal(listed.KeyCount, 4, "data file, manifest.json, manifest.checksum and symlink.txt");
    return Promise.all(listed.Contents!.map(async (o) => ({ key: o.Key!, head: await s3.send(new HeadObjectCommand({ Bucket: DEST, Key: o.Key! })) })));
  }

  it("writes every report object with SSE-S3 when the configuration asks for it", async () => {
    await server.client.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "sse-s3", InventoryConfiguration: config("sse-s3", { SSES3: {} }) }));
    assert.equal((await runInventory(server, SOURCE, "sse-s3")).status, "succeeded");
    for (const { key, head } of await reportHeads("sse-s3")) {
      assert.equal(head.ServerSideEncryption, "AES256", key);
      assert.equal(head.SSEKMSKeyId, undefined, key);
    }
  });

  it("writes every report object with SSE-KMS under the configured key", async () => {
    await server.client.send(
      new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "sse-kms", InventoryConfiguration: config("sse-kms", { SSEKMS: { KeyId: KMS_KEY } }) }),
    );
    assert.equal((await runInventory(server, SOURCE, "sse-kms")).status, "succeeded");
    for (const { key, head } of await reportHeads("sse-kms")) {
      assert.equal(head.ServerSideEncryption, "aws:kms", key);
      assert.equal(head.SSEKMSKeyId, KMS_KEY, key);
    }
  });

  it("gives report objects the destination bucket's default encryption without an Encryption element (SSE-S3 unless set)", async () => {
    await server.client.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "plain", InventoryConfiguration: config("plain") }));
    assert.equal((await runInventory(server, SOURCE, "plain")).status, "succeeded");
    for (const { head } of await reportHeads("plain")) assert.equal(head.ServerSideEncryption, "AES256");
  });

  it("fails the run, publishing nothing, when the configured KMS key does not exist", async () => {
    const missing = `arn:aws:kms:us-east-1:${TEST_ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    await server.client.send(
      new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "no-key", InventoryConfiguration: config("no-key", { SSEKMS: { KeyId: missing } }) }),
    );
    const run = await runInventory(server, SOURCE, "no-key");
    assert.equal(run.status, "failed");
    assert.match(run.error ?? "", /KMS key .* does not exist/);
    const listed = await server.client.send(new ListObjectsV2Command({ Bucket: DEST, Prefix: "no-key/" }));
    assert.equal(listed.KeyCount, 0);
  });
});

describe("inventory report delivery across regions", () => {
  it("refuses a destination bucket in another region than the source and publishes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stocktake-region-"));
    try {
      // A bucket keeps the region it was created in; the server's region decides new buckets'.
      const west = await startTestServer({ region: "eu-west-1" }, dir);
      const westClient = new S3Client({
        endpoint: west.url,
        region: "eu-west-1",
        forcePathStyle: true,
        credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
      });
      try {
        await westClient.send(new CreateBucketCommand({ Bucket: DEST, CreateBucketConfiguration: { LocationConstraint: "eu-west-1" } }));
        await westClient.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST) }));
      } finally {
        westClient.destroy();
        await west.stop();
      }

      const east = await startTestServer({ region: "us-east-1" }, dir);
      try {
        await east.client.send(new CreateBucketCommand({ Bucket: SOURCE }));
        await east.client.send(new PutObjectCommand({ Bucket: SOURCE, Key: "k", Body: "v" }));
        await east.client.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "cross", InventoryConfiguration: config("cross") }));
        const run = await runInventory(east, SOURCE, "cross");
        assert.equal(run.status, "failed");
        assert.match(run.error!, /is in eu-west-1, not us-east-1/);
        assert.deepEqual(await east.context.metadata.listCurrent({ bucket: DEST, limit: 10 }), [], "nothing was published");
      } finally {
        await east.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
