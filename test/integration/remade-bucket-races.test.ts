// Background passes (lifecycle, S3 Metadata) list the configurations of every bucket, then work
// bucket by bucket. A bucket deleted by its owner and made again under the same name by another
// account in between must get none of the first owner's configuration applied to it, none of its
// changes recorded into the first owner's tables, and its own change log must be left whole. The
// race is made certain: the store hands the pass its configuration rows only after the swap.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  CreateBucketMetadataConfigurationCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { readTable } from "../helpers/icebird.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";
import { LIFECYCLE_KIND } from "../../src/lifecycle/rules.js";
import { METADATA_CONFIG_KIND } from "../../src/metadata-tables/config.js";

/** Runs `swap` once, the first time a pass lists the configurations of `kind`, before it sees the rows. */
function swapWhenListed(server: TestServer, kind: string, swap: () => Promise<void>): () => void {
  const metadata = server.context.metadata;
  const listConfigsOfKind = metadata.listConfigsOfKind;
  let swapped = false;
  metadata.listConfigsOfKind = async (k, afterRow, limit) => {
    const rows = await listConfigsOfKind.call(metadata, k, afterRow, limit);
    if (k === kind && !swapped) {
      swapped = true;
      await swap();
    }
    return rows;
  };
  return () => {
    metadata.listConfigsOfKind = listConfigsOfKind;
  };
}

/** The keys a journal records; none while it has no snapshot (nothing was ever committed to it). */
async function journalKeys(server: TestServer, credentials: { accessKeyId: string; secretAccessKey: string }, account: string, bucket: string): Promise<unknown[]> {
  try {
    return (await readTable({ url: server.url, ...credentials }, `aws-s3-${account}`, `b_${bucket}/journal`)).map((r) => r.key).sort();
  } catch (err) {
    if (err instanceof Error && /No current snapshot/.test(err.message)) return [];
    throw err;
  }
}

describe("a bucket deleted and made again by another account while a background pass runs", () => {
  let server: TestServer;
  let other: S3Client;
  let otherAccount: string;
  let otherCredentials: { accessKeyId: string; secretAccessKey: string };
  const root = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };

  before(async () => {
    server = await startTestServer({ metadataJournalIntervalMs: 3_600_000, metadataInventoryIntervalMs: 3_600_000 });
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    otherAccount = creds.accountId;
    otherCredentials = { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
  });
  after(async () => {
    other?.destroy();
    await server?.stop();
  });

  it("applies none of the first owner's lifecycle rules to the next owner's objects", async () => {
    const Bucket = "lifecycle-name";
    await server.client.send(new CreateBucketCommand({ Bucket }));
    await server.client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket,
        LifecycleConfiguration: { Rules: [{ ID: "everything", Status: "Enabled", Filter: { Prefix: "" }, Expiration: { Date: new Date("2020-01-01T00:00:00Z") } }] },
      }),
    );
    const restore = swapWhenListed(server, LIFECYCLE_KIND, async () => {
      await server.client.send(new DeleteBucketCommand({ Bucket }));
      await other.send(new CreateBucketCommand({ Bucket }));
      for (const Key of ["theirs/1", "theirs/2"]) await other.send(new PutObjectCommand({ Bucket, Key, Body: "keep me" }));
    });
    try {
      const pass = await server.lifecycle.runOnce();
      assert.equal(pass.expired, 0);
    } finally {
      restore();
    }
    const listed = await other.send(new ListObjectsV2Command({ Bucket }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key), ["theirs/1", "theirs/2"]);
  });

  it("records none of the next owner's changes in the first owner's journal, and leaves the next owner's log to its own journal", async () => {
    const Bucket = "journal-name";
    await server.client.send(new CreateBucketCommand({ Bucket }));
    await server.client.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: { JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" } } } }));
    await server.metadataTables.runOnce();
    await server.client.send(new PutObjectCommand({ Bucket, Key: "mine", Body: "x" }));
    const restore = swapWhenListed(server, METADATA_CONFIG_KIND, async () => {
      await server.client.send(new DeleteObjectCommand({ Bucket, Key: "mine" }));
      await server.client.send(new DeleteBucketCommand({ Bucket }));
      await other.send(new CreateBucketCommand({ Bucket }));
      await other.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: { JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" } } } }));
      await other.send(new PutObjectCommand({ Bucket, Key: "payroll/2026.xlsx", Body: "secret" }));
    });
    try {
      await server.metadataTables.runOnce();
    } finally {
      restore();
    }
    // The next pass sees the next owner's configuration and gives it its own journal, whole.
    await server.metadataTables.runOnce();
    assert.ok(!(await journalKeys(server, root, TEST_ACCOUNT_ID, Bucket)).includes("payroll/2026.xlsx"), "the first owner's journal");
    assert.deepEqual(await journalKeys(server, otherCredentials, otherAccount, Bucket), ["payroll/2026.xlsx"]);
  });
});
