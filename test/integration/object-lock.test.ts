// Object Lock end to end with the AWS SDK v3 and boto3: lock-enabled buckets and their default
// retention, the x-amz-object-lock-* headers of PutObject, CopyObject and multipart uploads,
// Put/GetObjectRetention and Put/GetObjectLegalHold with S3's change rules, deletes refused while
// a version is held or retained (a ManualClock lets retention run out), and the ObjectLock* columns
// of inventory reports in CSV, Parquet and ORC read back with pyarrow and DuckDB.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type InventoryFormat,
  type ObjectLockConfiguration,
} from "@aws-sdk/client-s3";
import { ManualClock } from "../../src/clock.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { getObjectBytes, python, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";

const DAY = 86_400_000;

/** Expects an S3 error of this code, status and message. */
async function rejectsWithMessage(promise: Promise<unknown>, name: string, status: number, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof S3ServiceException, `expected an S3 error, got ${String(err)}`);
    assert.equal(err.name, name);
    assert.equal(err.$metadata.httpStatusCode, status);
    assert.equal(err.message, message);
    return true;
  });
}

/** Overrides request headers after the SDK serialised them and before it signs: values no SDK input produces. */
function withHeaders(command: PutObjectCommand, headers: Record<string, string>): PutObjectCommand {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) Object.assign(request.headers, headers);
      return next(args);
    },
    { step: "build" },
  );
  return command;
}

describe("object lock", () => {
  const clock = new ManualClock();
  let server: TestServer;
  let s3: S3Client;
  const now = () => clock.now().getTime();
  const inDays = (days: number) => new Date(now() + days * DAY);

  before(async () => {
    // The clients sign with the real time while the server's clock is moved by hand.
    server = await startTestServer({ clock, maxClockSkewMs: 100 * 365 * DAY });
    s3 = server.client;
  });
  after(async () => {
    await server.stop();
  });

  async function lockedBucket(Bucket: string): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
  }

  async function put(Bucket: string, Key: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}): Promise<string> {
    const out = await s3.send(new PutObjectCommand({ Bucket, Key, Body: `body of ${Key}`, ...extra }));
    return out.VersionId!;
  }

  describe("bucket configuration", () => {
    it("creates a bucket with x-amz-bucket-object-lock-enabled as versioned and locked, without a default rule", async () => {
      await lockedBucket("lock-create");
      const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: "lock-create" }));
      assert.equal(versioning.Status, "Enabled");
      const config = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-create" }));
      assert.deepEqual(config.ObjectLockConfiguration, { ObjectLockEnabled: "Enabled" });
    });

    it("stores and returns a default retention rule in Days or Years", async () => {
      await lockedBucket("lock-rule");
      for (const DefaultRetention of [{ Mode: "GOVERNANCE" as const, Days: 30 }, { Mode: "COMPLIANCE" as const, Years: 2 }]) {
        await s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-rule", ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention } } }));
        const got = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-rule" }));
        assert.deepEqual(got.ObjectLockConfiguration, { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention } });
      }
      await s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-rule", ObjectLockConfiguration: { ObjectLockEnabled: "Enabled" } }));
      const cleared = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-rule" }));
      assert.deepEqual(cleared.ObjectLockConfiguration, { ObjectLockEnabled: "Enabled" }, "a configuration without Rule removes the default");
    });

    it("answers ObjectLockConfigurationNotFoundError (404) for a bucket without object lock", async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "lock-none" }));
      await rejectsWith(s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-none" })), "ObjectLockConfigurationNotFoundError", 404);
    });

    it("enables object lock on an existing bucket only once its versioning is Enabled (else InvalidBucketState 409)", async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "lock-later" }));
      const config: ObjectLockConfiguration = { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1 } } };
      await rejectsWithMessage(
        s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-later", ObjectLockConfiguration: config })),
        "InvalidBucketState",
        409,
        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
      );
      await s3.send(new PutBucketVersioningCommand({ Bucket: "lock-later", VersioningConfiguration: { Status: "Enabled" } }));
      await s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-later", ObjectLockConfiguration: config }));
      const got = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-later" }));
      assert.deepEqual(got.ObjectLockConfiguration, config);
    });

    it("refuses to suspend versioning on a lock-enabled bucket (InvalidBucketState 409)", async () => {
      await lockedBucket("lock-suspend");
      await rejectsWith(s3.send(new PutBucketVersioningCommand({ Bucket: "lock-suspend", VersioningConfiguration: { Status: "Suspended" } })), "InvalidBucketState", 409);
      await s3.send(new PutBucketVersioningCommand({ Bucket: "lock-suspend", VersioningConfiguration: { Status: "Enabled" } }));
    });

    it("validates the configuration as S3 does: MalformedXML for the shape, InvalidArgument for the period", async () => {
      await lockedBucket("lock-invalid");
      const send = (ObjectLockConfiguration: ObjectLockConfiguration) => s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-invalid", ObjectLockConfiguration }));
      await rejectsWith(send({ ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1, Years: 1 } } }), "MalformedXML", 400);
      await rejectsWith(send({ ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE" } } }), "MalformedXML", 400);
      await rejectsWith(send({ ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "governance" as "GOVERNANCE", Days: 1 } } }), "MalformedXML", 400);
      await rejectsWith(send({ ObjectLockEnabled: "Disabled" as "Enabled" }), "MalformedXML", 400);
      await rejectsWithMessage(send({ ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 0 } } }), "InvalidArgument", 400, "Default retention period must be a positive integer value.");
      await rejectsWithMessage(send({ ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Years: 101 } } }), "InvalidArgument", 400, "Default retention period too large.");
    });
  });

  describe("locks on writes", () => {
    before(async () => {
      await lockedBucket("lock-writes");
    });

    it("stores x-amz-object-lock-* of PutObject and shows them on HEAD, GET, GetObjectRetention and GetObjectLegalHold", async () => {
      const until = new Date(Math.floor(now() / 1000) * 1000 + 3 * DAY);
      const versionId = await put("lock-writes", "held.txt", { ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: "ON" });
      const head = await s3.send(new HeadObjectCommand({ Bucket: "lock-writes", Key: "held.txt" }));
      assert.equal(head.ObjectLockMode, "GOVERNANCE");
      assert.equal(head.ObjectLockRetainUntilDate?.toISOString(), until.toISOString());
      assert.equal(head.ObjectLockLegalHoldStatus, "ON");
      const got = await s3.send(new GetObjectCommand({ Bucket: "lock-writes", Key: "held.txt", VersionId: versionId }));
      assert.equal(got.ObjectLockMode, "GOVERNANCE");
      await got.Body!.transformToString();
      const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: "lock-writes", Key: "held.txt" }));
      assert.deepEqual(retention.Retention, { Mode: "GOVERNANCE", RetainUntilDate: until });
      const hold = await s3.send(new GetObjectLegalHoldCommand({ Bucket: "lock-writes", Key: "held.txt", VersionId: versionId }));
      assert.deepEqual(hold.LegalHold, { Status: "ON" });
      await s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-writes", Key: "held.txt", LegalHold: { Status: "OFF" } }));
    });

    it("sends no lock headers for a version without a lock, and GetObjectRetention/LegalHold answer NoSuchObjectLockConfiguration (404)", async () => {
      await put("lock-writes", "free.txt");
      const head = await s3.send(new HeadObjectCommand({ Bucket: "lock-writes", Key: "free.txt" }));
      assert.equal(head.ObjectLockMode, undefined);
      assert.equal(head.ObjectLockRetainUntilDate, undefined);
      assert.equal(head.ObjectLockLegalHoldStatus, undefined);
      await rejectsWith(s3.send(new GetObjectRetentionCommand({ Bucket: "lock-writes", Key: "free.txt" })), "NoSuchObjectLockConfiguration", 404);
      await rejectsWith(s3.send(new GetObjectLegalHoldCommand({ Bucket: "lock-writes", Key: "free.txt" })), "NoSuchObjectLockConfiguration", 404);
    });

    it("gives a new version the bucket's default retention (now + Days) when the write names none", async () => {
      await lockedBucket("lock-default");
      await s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-default", ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 5 } } } }));
      const writtenAt = now();
      await put("lock-default", "auto.txt");
      const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: "lock-default", Key: "auto.txt" }));
      assert.equal(retention.Retention?.Mode, "COMPLIANCE");
      assert.equal(retention.Retention?.RetainUntilDate?.getTime(), writtenAt + 5 * DAY);
      // Explicit headers win over the default.
      const explicit = new Date(Math.floor(now() / 1000) * 1000 + DAY);
      await put("lock-default", "explicit.txt", { ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: explicit });
      const head = await s3.send(new HeadObjectCommand({ Bucket: "lock-default", Key: "explicit.txt" }));
      assert.equal(head.ObjectLockMode, "GOVERNANCE");
      assert.equal(head.ObjectLockRetainUntilDate?.getTime(), explicit.getTime());
    });

    it("applies lock headers to CopyObject and to a multipart upload (given at Create, applied at Complete)", async () => {
      const until = new Date(Math.floor(now() / 1000) * 1000 + 2 * DAY);
      await put("lock-writes", "source.txt");
      await s3.send(new CopyObjectCommand({ Bucket: "lock-writes", Key: "copy.txt", CopySource: "lock-writes/source.txt", ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: until }));
      const copy = await s3.send(new HeadObjectCommand({ Bucket: "lock-writes", Key: "copy.txt" }));
      assert.equal(copy.ObjectLockMode, "COMPLIANCE");
      assert.equal(copy.ObjectLockRetainUntilDate?.getTime(), until.getTime());

      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "lock-writes", Key: "mpu.bin", ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: "ON" }));
      const part = await s3.send(new UploadPartCommand({ Bucket: "lock-writes", Key: "mpu.bin", UploadId, PartNumber: 1, Body: "only part" }));
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: "lock-writes", Key: "mpu.bin", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
      const mpu = await s3.send(new HeadObjectCommand({ Bucket: "lock-writes", Key: "mpu.bin" }));
      assert.equal(mpu.ObjectLockMode, "GOVERNANCE");
      assert.equal(mpu.ObjectLockLegalHoldStatus, "ON");
      await s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-writes", Key: "mpu.bin", LegalHold: { Status: "OFF" } }));
    });

    it("refuses lock headers in a bucket without object lock (InvalidRequest 400), for PutObject, CopyObject and CreateMultipartUpload", async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "lock-plain-writes" }));
      const message = "Bucket is missing ObjectLockConfiguration";
      await rejectsWithMessage(s3.send(new PutObjectCommand({ Bucket: "lock-plain-writes", Key: "k", Body: "x", ObjectLockLegalHoldStatus: "ON" })), "InvalidRequest", 400, message);
      await rejectsWithMessage(
        s3.send(new PutObjectCommand({ Bucket: "lock-plain-writes", Key: "k", Body: "x", ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: inDays(1) })),
        "InvalidRequest",
        400,
        message,
      );
      await s3.send(new PutObjectCommand({ Bucket: "lock-plain-writes", Key: "src", Body: "x" }));
      await rejectsWithMessage(s3.send(new CopyObjectCommand({ Bucket: "lock-plain-writes", Key: "dst", CopySource: "lock-plain-writes/src", ObjectLockLegalHoldStatus: "ON" })), "InvalidRequest", 400, message);
      await rejectsWithMessage(s3.send(new CreateMultipartUploadCommand({ Bucket: "lock-plain-writes", Key: "m", ObjectLockLegalHoldStatus: "ON" })), "InvalidRequest", 400, message);
    });

    it("validates the headers: mode and date together, a known mode, an ISO 8601 future date, ON or OFF (InvalidArgument 400)", async () => {
      const both = "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.";
      await rejectsWithMessage(put("lock-writes", "bad", { ObjectLockMode: "GOVERNANCE" }), "InvalidArgument", 400, both);
      await rejectsWithMessage(put("lock-writes", "bad", { ObjectLockRetainUntilDate: inDays(1) }), "InvalidArgument", 400, both);
      await rejectsWithMessage(put("lock-writes", "bad", { ObjectLockMode: "LOCKED" as "GOVERNANCE", ObjectLockRetainUntilDate: inDays(1) }), "InvalidArgument", 400, "Unknown wormMode directive.");
      await rejectsWithMessage(put("lock-writes", "bad", { ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: inDays(-1) }), "InvalidArgument", 400, "The retain until date must be in the future!");
      await rejectsWithMessage(put("lock-writes", "bad", { ObjectLockLegalHoldStatus: "on" as "ON" }), "InvalidArgument", 400, "Legal Hold must be either of 'ON' or 'OFF'");
      const badDate = withHeaders(new PutObjectCommand({ Bucket: "lock-writes", Key: "bad", Body: "x", ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: inDays(1) }), {
        "x-amz-object-lock-retain-until-date": "next tuesday",
      });
      await rejectsWithMessage(s3.send(badDate), "InvalidArgument", 400, "The retain until date must be provided in ISO 8601 format");
    });

    it("requires Content-MD5 or an x-amz-checksum on a PutObject or UploadPart with lock parameters, the bucket's default included", async () => {
      const bare = new S3Client({
        endpoint: server.url,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
        requestChecksumCalculation: "WHEN_REQUIRED",
      });
      try {
        const message = "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters";
        await rejectsWithMessage(bare.send(new PutObjectCommand({ Bucket: "lock-writes", Key: "k", Body: "x", ObjectLockLegalHoldStatus: "ON" })), "InvalidRequest", 400, message);
        await rejectsWithMessage(bare.send(new PutObjectCommand({ Bucket: "lock-default", Key: "k", Body: "x" })), "InvalidRequest", 400, message);
        // No lock parameter at all: nothing required.
        await bare.send(new PutObjectCommand({ Bucket: "lock-writes", Key: "unlocked-bare", Body: "x" }));
        await bare.send(new PutObjectCommand({ Bucket: "lock-writes", Key: "with-md5", Body: "x", ObjectLockLegalHoldStatus: "OFF", ContentMD5: createHash("md5").update("x").digest("base64") }));
        const { UploadId } = await bare.send(new CreateMultipartUploadCommand({ Bucket: "lock-writes", Key: "mpu-bare", ObjectLockLegalHoldStatus: "OFF" }));
        await rejectsWithMessage(
          bare.send(new UploadPartCommand({ Bucket: "lock-writes", Key: "mpu-bare", UploadId, PartNumber: 1, Body: "x" })),
          "InvalidRequest",
          400,
          "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters",
        );
        await bare.send(new UploadPartCommand({ Bucket: "lock-writes", Key: "mpu-bare", UploadId, PartNumber: 1, Body: "x", ContentMD5: createHash("md5").update("x").digest("base64") }));
      } finally {
        bare.destroy();
      }
    });
  });

  describe("retention and legal hold changes", () => {
    before(async () => {
      await lockedBucket("lock-changes");
    });
    const retain = (Key: string, Mode: "GOVERNANCE" | "COMPLIANCE", RetainUntilDate: Date, BypassGovernanceRetention?: boolean) =>
      s3.send(new PutObjectRetentionCommand({ Bucket: "lock-changes", Key, Retention: { Mode, RetainUntilDate }, BypassGovernanceRetention }));
    const retentionOf = async (Key: string) => (await s3.send(new GetObjectRetentionCommand({ Bucket: "lock-changes", Key }))).Retention;
    const denied = "Access Denied because object protected by object lock.";

    it("lets COMPLIANCE retention be extended but never shortened nor made GOVERNANCE, bypass or not (AccessDenied 403)", async () => {
      await put("lock-changes", "compliance.txt");
      const first = inDays(2);
      await retain("compliance.txt", "COMPLIANCE", first);
      const later = inDays(4);
      await retain("compliance.txt", "COMPLIANCE", later);
      assert.equal((await retentionOf("compliance.txt"))?.RetainUntilDate?.getTime(), later.getTime());
      await rejectsWithMessage(retain("compliance.txt", "COMPLIANCE", first, true), "AccessDenied", 403, denied);
      await rejectsWithMessage(retain("compliance.txt", "GOVERNANCE", inDays(10), true), "AccessDenied", 403, denied);
      assert.equal((await retentionOf("compliance.txt"))?.Mode, "COMPLIANCE");
    });

    it("lets GOVERNANCE retention be extended, and shortened, changed or removed only with x-amz-bypass-governance-retention", async () => {
      await put("lock-changes", "governance.txt");
      await retain("governance.txt", "GOVERNANCE", inDays(3));
      await retain("governance.txt", "GOVERNANCE", inDays(5));
      await rejectsWithMessage(retain("governance.txt", "GOVERNANCE", inDays(1)), "AccessDenied", 403, denied);
      await rejectsWithMessage(retain("governance.txt", "COMPLIANCE", inDays(6)), "AccessDenied", 403, denied);
      const shorter = inDays(1);
      await retain("governance.txt", "GOVERNANCE", shorter, true);
      assert.equal((await retentionOf("governance.txt"))?.RetainUntilDate?.getTime(), shorter.getTime());
      // An empty Retention with the bypass removes it.
      await s3.send(new PutObjectRetentionCommand({ Bucket: "lock-changes", Key: "governance.txt", Retention: {}, BypassGovernanceRetention: true }));
      await rejectsWith(s3.send(new GetObjectRetentionCommand({ Bucket: "lock-changes", Key: "governance.txt" })), "NoSuchObjectLockConfiguration", 404);
    });

    it("refuses the bypass when the bucket policy denies s3:BypassGovernanceRetention, even to the owner", async () => {
      await lockedBucket("lock-policy");
      const versionId = await put("lock-policy", "g.txt", { ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: inDays(2) });
      const policy = {
        Version: "2012-10-17",
        Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:BypassGovernanceRetention", Resource: "arn:aws:s3:::lock-policy/*" }],
      };
      await s3.send(new PutBucketPolicyCommand({ Bucket: "lock-policy", Policy: JSON.stringify(policy) }));
      await rejectsWith(
        s3.send(new PutObjectRetentionCommand({ Bucket: "lock-policy", Key: "g.txt", Retention: { Mode: "GOVERNANCE", RetainUntilDate: inDays(1) }, BypassGovernanceRetention: true })),
        "AccessDenied",
        403,
      );
      await rejectsWith(s3.send(new DeleteObjectCommand({ Bucket: "lock-policy", Key: "g.txt", VersionId: versionId, BypassGovernanceRetention: true })), "AccessDenied", 403);
    });

    it("refuses a retention date in the past (InvalidArgument) and a bad mode or status (MalformedXML)", async () => {
      await put("lock-changes", "dates.txt");
      await rejectsWithMessage(retain("dates.txt", "GOVERNANCE", inDays(-1)), "InvalidArgument", 400, "The retain until date must be in the future!");
      await rejectsWith(retain("dates.txt", "governance" as "GOVERNANCE", inDays(1)), "MalformedXML", 400);
      await rejectsWith(s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-changes", Key: "dates.txt", LegalHold: { Status: "MAYBE" as "ON" } })), "MalformedXML", 400);
    });

    it("addresses a version by versionId and answers NoSuchKey / NoSuchVersion for missing ones", async () => {
      const v1 = await put("lock-changes", "versions.txt");
      await put("lock-changes", "versions.txt");
      await s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-changes", Key: "versions.txt", VersionId: v1, LegalHold: { Status: "ON" } }));
      assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket: "lock-changes", Key: "versions.txt", VersionId: v1 }))).LegalHold?.Status, "ON");
      await rejectsWith(s3.send(new GetObjectLegalHoldCommand({ Bucket: "lock-changes", Key: "versions.txt" })), "NoSuchObjectLockConfiguration", 404);
      await rejectsWith(s3.send(new GetObjectRetentionCommand({ Bucket: "lock-changes", Key: "missing.txt" })), "NoSuchKey", 404);
      await rejectsWith(s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-changes", Key: "versions.txt", VersionId: "no-such-version", LegalHold: { Status: "ON" } })), "NoSuchVersion", 404);
      await s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-changes", Key: "versions.txt", VersionId: v1, LegalHold: { Status: "OFF" } }));
    });

    it("answers InvalidRequest (400) for retention and legal hold operations on a bucket without object lock", async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "lock-plain-ops" }));
      await s3.send(new PutObjectCommand({ Bucket: "lock-plain-ops", Key: "k", Body: "x" }));
      const message = "Bucket is missing Object Lock Configuration";
      await rejectsWithMessage(
        s3.send(new PutObjectRetentionCommand({ Bucket: "lock-plain-ops", Key: "k", Retention: { Mode: "GOVERNANCE", RetainUntilDate: inDays(1) } })),
        "InvalidRequest",
        400,
        message,
      );
      await rejectsWithMessage(s3.send(new GetObjectRetentionCommand({ Bucket: "lock-plain-ops", Key: "k" })), "InvalidRequest", 400, message);
      await rejectsWithMessage(s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-plain-ops", Key: "k", LegalHold: { Status: "ON" } })), "InvalidRequest", 400, message);
      await rejectsWithMessage(s3.send(new GetObjectLegalHoldCommand({ Bucket: "lock-plain-ops", Key: "k" })), "InvalidRequest", 400, message);
    });
  });

  describe("deletes", () => {
    before(async () => {
      await lockedBucket("lock-deletes");
    });
    const del = (Key: string, VersionId: string, BypassGovernanceRetention?: boolean) => s3.send(new DeleteObjectCommand({ Bucket: "lock-deletes", Key, VersionId, BypassGovernanceRetention }));
    const denied = "Access Denied because object protected by object lock.";

    it("refuses to delete a version under legal hold, and deletes it once the hold is OFF", async () => {
      const v = await put("lock-deletes", "hold.txt", { ObjectLockLegalHoldStatus: "ON" });
      await rejectsWithMessage(del("hold.txt", v, true), "AccessDenied", 403, denied);
      await s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-deletes", Key: "hold.txt", VersionId: v, LegalHold: { Status: "OFF" } }));
      await del("hold.txt", v);
    });

    it("refuses COMPLIANCE whatever the bypass, GOVERNANCE without it, and lets the bypass delete GOVERNANCE", async () => {
      const c = await put("lock-deletes", "c.txt", { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: inDays(1) });
      await rejectsWithMessage(del("c.txt", c, true), "AccessDenied", 403, denied);
      const g = await put("lock-deletes", "g.txt", { ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: inDays(1) });
      await rejectsWithMessage(del("g.txt", g), "AccessDenied", 403, denied);
      await del("g.txt", g, true);
      const left = await s3.send(new ListObjectVersionsCommand({ Bucket: "lock-deletes", Prefix: "g.txt" }));
      assert.equal(left.Versions, undefined);
    });

    it("lets a delete without versionId add a delete marker over a retained version", async () => {
      const v = await put("lock-deletes", "marker.txt", { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: inDays(1) });
      const out = await s3.send(new DeleteObjectCommand({ Bucket: "lock-deletes", Key: "marker.txt" }));
      assert.equal(out.DeleteMarker, true);
      const head = await s3.send(new HeadObjectCommand({ Bucket: "lock-deletes", Key: "marker.txt", VersionId: v }));
      assert.equal(head.ObjectLockMode, "COMPLIANCE");
      // The marker itself carries no lock and can be removed.
      await del("marker.txt", out.VersionId!);
    });

    it("reports refused versions per key in DeleteObjects and deletes the others", async () => {
      const locked = await put("lock-deletes", "batch-locked.txt", { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: inDays(1) });
      const free = await put("lock-deletes", "batch-free.txt");
      const out = await s3.send(
        new DeleteObjectsCommand({
          Bucket: "lock-deletes",
          Delete: { Objects: [{ Key: "batch-locked.txt", VersionId: locked }, { Key: "batch-free.txt", VersionId: free }, { Key: "batch-locked.txt" }] },
        }),
      );
      assert.deepEqual(out.Errors?.map((e) => [e.Key, e.VersionId, e.Code, e.Message]), [["batch-locked.txt", locked, "AccessDenied", denied]]);
      assert.deepEqual(out.Deleted?.map((d) => [d.Key, d.VersionId ?? null, d.DeleteMarker ?? false]).sort(), [
        ["batch-free.txt", free, false],
        ["batch-locked.txt", null, true],
      ]);
    });

    it("lets the delete through once the retention date has passed (ManualClock)", async () => {
      const c = await put("lock-deletes", "expiring.txt", { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: inDays(2) });
      await rejectsWith(del("expiring.txt", c), "AccessDenied", 403);
      clock.advance(2 * DAY + 1000);
      await del("expiring.txt", c);
      await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: "lock-deletes", Key: "expiring.txt", VersionId: c })), undefined, 404);
    });
  });

  describe("boto3", () => {
    it("creates a locked bucket, writes with retention, is refused the delete and deletes with the governance bypass", async () => {
      const script = `
import sys, json, datetime, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
url, ak, sk, now_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=ak, aws_secret_access_key=sk,
                  config=Config(s3={"addressing_style": "path"}))
def error(fn):
    try:
        fn()
        return "no error"
    except ClientError as e:
        return [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]]
out = {}
s3.create_bucket(Bucket="boto-locked", ObjectLockEnabledForBucket=True)
out["versioning"] = s3.get_bucket_versioning(Bucket="boto-locked").get("Status")
out["config"] = s3.get_object_lock_configuration(Bucket="boto-locked")["ObjectLockConfiguration"]
until = datetime.datetime.fromtimestamp(now_ms / 1000 + 86400, tz=datetime.timezone.utc).replace(microsecond=0)
vid = s3.put_object(Bucket="boto-locked", Key="k", Body=b"locked", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)["VersionId"]
head = s3.head_object(Bucket="boto-locked", Key="k")
out["head"] = [head["ObjectLockMode"], head["ObjectLockRetainUntilDate"] == until]
ret = s3.get_object_retention(Bucket="boto-locked", Key="k")["Retention"]
out["retention"] = [ret["Mode"], ret["RetainUntilDate"] == until]
out["refused"] = error(lambda: s3.delete_object(Bucket="boto-locked", Key="k", VersionId=vid))
out["shorten"] = error(lambda: s3.put_object_retention(Bucket="boto-locked", Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until - datetime.timedelta(hours=1)}))
s3.delete_object(Bucket="boto-locked", Key="k", VersionId=vid, BypassGovernanceRetention=True)
out["left"] = len(s3.list_object_versions(Bucket="boto-locked").get("Versions", []))
s3.create_bucket(Bucket="boto-plain")
s3.put_object(Bucket="boto-plain", Key="k", Body=b"x")
out["plain_retention"] = error(lambda: s3.put_object_retention(Bucket="boto-plain", Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}))
out["plain_config"] = error(lambda: s3.get_object_lock_configuration(Bucket="boto-plain"))
out["plain_put"] = error(lambda: s3.put_object(Bucket="boto-plain", Key="k2", Body=b"x", ObjectLockLegalHoldStatus="ON"))
print(json.dumps(out))
`;
      const out = JSON.parse(await python(script, server.url, TEST_ACCESS_KEY, TEST_SECRET_KEY, String(now()))) as Record<string, unknown>;
      assert.deepEqual(out, {
        versioning: "Enabled",
        config: { ObjectLockEnabled: "Enabled" },
        head: ["GOVERNANCE", true],
        retention: ["GOVERNANCE", true],
        refused: ["AccessDenied", 403, "Access Denied because object protected by object lock."],
        shorten: ["AccessDenied", 403, "Access Denied because object protected by object lock."],
        left: 0,
        plain_retention: ["InvalidRequest", 400, "Bucket is missing Object Lock Configuration"],
        plain_config: ["ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket"],
        plain_put: ["InvalidRequest", 400, "Bucket is missing ObjectLockConfiguration"],
      });
    });
  });

  describe("inventory reports", () => {
    let work: string;
    const SOURCE = "lock-inventory";
    const DEST = "lock-inventory-dest";
    let governanceUntil: number;
    let complianceUntil: number;

    before(async () => {
      work = mkdtempSync(join(tmpdir(), "stocktake-lock-inventory-"));
      await lockedBucket(SOURCE);
      await s3.send(new CreateBucketCommand({ Bucket: DEST }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: server.root.accountId, sources: [SOURCE] }) }));
      governanceUntil = Math.floor(now() / 1000) * 1000 + 3 * DAY + 123;
      complianceUntil = Math.floor(now() / 1000) * 1000 + 400 * DAY;
      await put(SOURCE, "a-governance.txt", { ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: new Date(governanceUntil), ObjectLockLegalHoldStatus: "OFF" });
      await put(SOURCE, "b-compliance-held.txt", { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: new Date(complianceUntil), ObjectLockLegalHoldStatus: "ON" });
      await put(SOURCE, "c-unlocked.txt");
    });
    after(() => rmSync(work, { recursive: true, force: true }));

    /** Runs a report of the lock columns in `format` and saves its data files; returns their paths. */
    async function deliver(format: InventoryFormat): Promise<string[]> {
      const Id = `lock-${format.toLowerCase()}`;
      await s3.send(
        new PutBucketInventoryConfigurationCommand({
          Bucket: SOURCE,
          Id,
          InventoryConfiguration: {
            Id,
            IsEnabled: true,
            IncludedObjectVersions: "Current",
            Schedule: { Frequency: "Daily" },
            OptionalFields: ["ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus"],
            Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: format, Prefix: "reports" } },
          },
        }),
      );
      const run = await runInventory(server, SOURCE, Id);
      assert.equal(run.status, "succeeded", run.error);
      const manifest = JSON.parse((await getObjectBytes(s3, DEST, run.manifestKey!)).toString()) as { files: { key: string }[] };
      const paths: string[] = [];
      for (const [i, f] of manifest.files.entries()) {
        const path = join(work, `${Id}-${i}`);
        writeFileSync(path, await getObjectBytes(s3, DEST, f.key));
        paths.push(path);
      }
      return paths;
    }

    const expected = () => [
      [SOURCE, "a-governance.txt", governanceUntil, "GOVERNANCE", "OFF"],
      [SOURCE, "b-compliance-held.txt", complianceUntil, "COMPLIANCE", "ON"],
      [SOURCE, "c-unlocked.txt", null, null, null],
    ];

    it("writes the lock columns in CSV: the date ISO 8601 in UTC with milliseconds, mode and hold upper case", async () => {
      const [path] = await deliver("CSV");
      const rows = gunzipSync(readFileSync(path!))
        .toString()
        .split("\n")
        .filter(Boolean)
        .map((line) => line.slice(1, -1).split('","'));
      const iso = (ms: number | null) => (ms === null ? "" : new Date(ms).toISOString());
      assert.deepEqual(
        rows,
        expected().map(([bucket, key, until, mode, hold]) => [bucket, key, iso(until as number | null), mode ?? "", hold ?? ""]),
      );
      assert.equal(rows[0]![2], new Date(governanceUntil).toISOString());
      assert.match(rows[0]![2]!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.123Z$/);
    });

    it("writes the lock columns in Parquet (a TIMESTAMP_MILLIS date) that pyarrow and DuckDB read back", async () => {
      const [path] = await deliver("Parquet");
      const read = JSON.parse(
        await python(
          `
import sys, json
import pyarrow as pa, pyarrow.parquet as pq, duckdb
t = pq.read_table(sys.argv[1])
col = t.column("object_lock_retain_until_date")
rows = [[r["bucket"], r["key"], r["object_lock_retain_until_date"], r["object_lock_mode"], r["object_lock_legal_hold_status"]]
        for r in t.set_column(t.column_names.index("object_lock_retain_until_date"), "object_lock_retain_until_date", col.cast(pa.timestamp("ms")).cast(pa.int64())).to_pylist()]
duck = duckdb.sql("SELECT bucket, key, epoch_ms(object_lock_retain_until_date), object_lock_mode, object_lock_legal_hold_status FROM read_parquet('%s') ORDER BY key" % sys.argv[1]).fetchall()
print(json.dumps({"type": str(col.type), "rows": rows, "duck": [list(r) for r in duck]}))
`,
          path!,
        ),
      ) as { type: string; rows: unknown[][]; duck: unknown[][] };
      assert.match(read.type, /^timestamp\[ms/);
      assert.deepEqual(read.rows, expected());
      assert.deepEqual(read.duck, expected());
    });

    it("writes the lock columns in ORC (a timestamp date) that pyarrow reads back", async () => {
      const [path] = await deliver("ORC");
      const read = JSON.parse(
        await python(
          `
import sys, json
import pyarrow as pa, pyarrow.orc as po
t = po.ORCFile(sys.argv[1]).read()
col = t.column("object_lock_retain_until_date")
ms = col.cast(pa.timestamp("ms")).cast(pa.int64()).to_pylist()
rows = [[r["bucket"], r["key"], m, r["object_lock_mode"], r["object_lock_legal_hold_status"]] for r, m in zip(t.to_pylist(), ms)]
print(json.dumps({"type": str(col.type), "rows": rows}))
`,
          path!,
        ),
      ) as { type: string; rows: unknown[][] };
      assert.match(read.type, /^timestamp/);
      assert.deepEqual(read.rows, expected());
    });
  });
});
