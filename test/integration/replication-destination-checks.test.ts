// Replication into another account's bucket: what the destination must have before a replica is
// written, as S3's replication failure reasons name it. A source with Object Lock replicates only
// into a destination with Object Lock (DstBucketObjectLockConfigMissing), so no retention lands in
// a bucket whose owner never enabled Object Lock; a tagged object needs s3:ReplicateTags granted
// by the destination as well as s3:ReplicateObject (DstPutTaggingNotPermitted).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-failure-codes.html
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ROLE, rule } from "../helpers/replication.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";
import type { Logger } from "../../src/log.js";


describe("replication into another account's bucket", () => {
  let server: TestServer;
  /** The source account (the server's root): owns the source buckets and the replication rules. */
  let source: S3Client;
  let sourceAccount: string;
  /** The destination account: owns the destination buckets and grants the source account by policy. */
  let victim: S3Client;
  /** The failure reasons the Replicator logged, as "bucket/key: reason". */
  const failures: string[] = [];
  const log: Logger = {
    info() {},
    error() {},
    warn(message, fields) {
      if (message === "replication failed") failures.push(`${String(fields?.bucket)}/${String(fields?.key)}: ${String(fields?.reason)}`);
    },
  };

  before(async () => {
    server = await startTestServer({ log });
    source = server.client;
    sourceAccount = server.root.accountId;
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    victim = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
  });
  after(async () => {
    victim.destroy();
    await server.stop();
  });

  /** A versioned bucket of the destination account whose policy grants the source account `grants` (action → key pattern). */
  async function destination(Bucket: string, grants: [action: string, keys: string][], objectLock = false): Promise<void> {
    await victim.send(new CreateBucketCommand({ Bucket, ...(objectLock ? { ObjectLockEnabledForBucket: true } : {}) }));
    await victim.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
    const Statement = grants.map(([Action, keys], i) => ({
      Sid: `grant${i}`,
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${sourceAccount}:root` },
      Action,
      Resource: `arn:aws:s3:::${Bucket}/${keys}`,
    }));
    await victim.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify({ Version: "2012-10-17", Statement }) }));
  }

  async function versionsOf(Bucket: string, Prefix: string): Promise<string[]> {
    const listed = await victim.send(new ListObjectVersionsCommand({ Bucket, Prefix }));
    return [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => `${v.Key}@${v.VersionId}`);
  }

  async function status(Bucket: string, Key: string): Promise<string | undefined> {
    return (await source.send(new HeadObjectCommand({ Bucket, Key }))).ReplicationStatus;
  }

  it("fails a lock-enabled source's version into a destination without Object Lock (DstBucketObjectLockConfigMissing), and replicates it with its retention into one with Object Lock", async () => {
    await source.send(new CreateBucketCommand({ Bucket: "lock-src", ObjectLockEnabledForBucket: true }));
    await destination("no-lock-dst", [["s3:ReplicateObject", "*"]]);
    await destination("lock-dst", [["s3:ReplicateObject", "*"]], true);
    await source.send(
      new PutBucketReplicationCommand({
        Bucket: "lock-src",
        ReplicationConfiguration: { Role: ROLE, Rules: [rule("unlocked", 1, "a/", "no-lock-dst"), rule("locked", 2, "b/", "lock-dst")] },
      }),
    );
    const until = new Date(Date.now() + 10 * 365 * 86_400_000);
    until.setUTCMilliseconds(0);
    const lock = { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: until } as const;
    await source.send(new PutObjectCommand({ Bucket: "lock-src", Key: "a/forever.txt", Body: "locked", ...lock }));
    const kept = await source.send(new PutObjectCommand({ Bucket: "lock-src", Key: "b/kept.txt", Body: "locked", ...lock }));
    await server.replication.runOnce();

    assert.equal(await status("lock-src", "a/forever.txt"), "FAILED");
    assert.ok(failures.includes("lock-src/a/forever.txt: DstBucketObjectLockConfigMissing"), failures.join("; "));
    assert.deepEqual(await versionsOf("no-lock-dst", ""), [], "no replica was written");
    // Nothing locked landed there: the destination's owner can still delete the bucket.
    await victim.send(new DeleteBucketCommand({ Bucket: "no-lock-dst" }));

    assert.equal(await status("lock-src", "b/kept.txt"), "COMPLETED");
    assert.deepEqual(await versionsOf("lock-dst", ""), [`b/kept.txt@${kept.VersionId}`]);
    const retention = await victim.send(new GetObjectRetentionCommand({ Bucket: "lock-dst", Key: "b/kept.txt", VersionId: kept.VersionId }));
    assert.deepEqual(retention.Retention, { Mode: "COMPLIANCE", RetainUntilDate: until });
  });

  it("fails a tagged object without s3:ReplicateTags on the destination (DstPutTaggingNotPermitted), and replicates it with its tags when granted", async () => {
    await source.send(new CreateBucketCommand({ Bucket: "tags-src" }));
    await source.send(new PutBucketVersioningCommand({ Bucket: "tags-src", VersioningConfiguration: { Status: "Enabled" } }));
    // s3:ReplicateObject on every key; s3:ReplicateTags only under granted/.
    await destination("tags-dst", [
      ["s3:ReplicateObject", "*"],
      ["s3:ReplicateTags", "granted/*"],
    ]);
    await source.send(new PutBucketReplicationCommand({ Bucket: "tags-src", ReplicationConfiguration: { Role: ROLE, Rules: [rule("all", 1, "", "tags-dst")] } }));
    await source.send(new PutObjectCommand({ Bucket: "tags-src", Key: "denied/tagged.txt", Body: "t", Tagging: "team=red" }));
    const plain = await source.send(new PutObjectCommand({ Bucket: "tags-src", Key: "denied/plain.txt", Body: "p" }));
    const granted = await source.send(new PutObjectCommand({ Bucket: "tags-src", Key: "granted/tagged.txt", Body: "g", Tagging: "team=blue&tier=gold" }));
    await server.replication.runOnce();

    assert.equal(await status("tags-src", "denied/tagged.txt"), "FAILED");
    assert.ok(failures.includes("tags-src/denied/tagged.txt: DstPutTaggingNotPermitted"), failures.join("; "));
    assert.deepEqual(await versionsOf("tags-dst", "denied/tagged"), [], "no replica was written");

    assert.equal(await status("tags-src", "denied/plain.txt"), "COMPLETED", "an untagged object needs s3:ReplicateObject only");
    assert.deepEqual(await versionsOf("tags-dst", "denied/plain"), [`denied/plain.txt@${plain.VersionId}`]);

    assert.equal(await status("tags-src", "granted/tagged.txt"), "COMPLETED");
    assert.deepEqual(await versionsOf("tags-dst", "granted/"), [`granted/tagged.txt@${granted.VersionId}`]);
    const tags = await victim.send(new GetObjectTaggingCommand({ Bucket: "tags-dst", Key: "granted/tagged.txt", VersionId: granted.VersionId }));
    assert.deepEqual(tags.TagSet, [
      { Key: "team", Value: "blue" },
      { Key: "tier", Value: "gold" },
    ]);
  });
});
