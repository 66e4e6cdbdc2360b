// Authorization holes closed: DeleteObjects authorized per key (as DeleteObject is), the
// version-specific and header-implied actions of the operation table, and every key an inventory
// report writes authorized against the destination policy. Each case is the attack first (a policy
// allowing what used to be checked), then the request S3 lets through (docs/security.md).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  DeleteObjectsCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
  UploadPartCopyCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCOUNT_ID, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { runInventory } from "../helpers/inventory.js";
import { canonicalIdFor, createAccount, loadSealingKey } from "../../src/auth/accounts.js";

const OTHER_ID = "777788889999";

interface Statement {
  Effect: "Allow" | "Deny";
  Principal: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}

describe("authorization", () => {
  let server: TestServer;
  let s3: S3Client;
  let other: S3Client;
  let otherCredentials: { accessKeyId: string; secretAccessKey: string };

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), { accountId: OTHER_ID }, new Date());
    otherCredentials = { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
  });
  after(async () => {
    other.destroy();
    await server.stop();
  });

  const setPolicy = (Bucket: string, Statement: Statement[]) =>
    s3.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify({ Version: "2012-10-17", Statement }) }));
  /** A policy allowing the other account exactly `actions` on `resources` (object keys or the bucket). */
  const allowOther = (Bucket: string, actions: string[], resources: string[] = [`arn:aws:s3:::${Bucket}/*`]) =>
    setPolicy(Bucket, [{ Effect: "Allow", Principal: { AWS: OTHER_ID }, Action: actions, Resource: resources }]);
  const versioned = async (Bucket: string, extra: Partial<ConstructorParameters<typeof CreateBucketCommand>[0]> = {}) => {
    await s3.send(new CreateBucketCommand({ Bucket, ...extra }));
    if (!extra.ObjectLockEnabledForBucket) await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
  };
  const put = async (client: S3Client, Bucket: string, Key: string) => (await client.send(new PutObjectCommand({ Bucket, Key, Body: Key }))).VersionId!;
  const exists = async (Bucket: string, Key: string, VersionId?: string) => {
    try {
      await s3.send(new HeadObjectCommand({ Bucket, Key, VersionId }));
      return true;
    } catch {
      return false;
    }
  };
  const inDays = (n: number) => new Date(Date.now() + n * 86_400_000);

  describe("DeleteObjects authorizes every key (item 3)", () => {
    it("refuses a version the policy denies s3:DeleteObjectVersion on, as DeleteObject does, and deletes the others", async () => {
      const b = "authz-del-version";
      await versioned(b);
      const v1 = await put(s3, b, "doc");
      await put(s3, b, "doc");
      await put(s3, b, "other");
      await setPolicy(b, [{ Effect: "Deny", Principal: "*", Action: "s3:DeleteObjectVersion", Resource: `arn:aws:s3:::${b}/*` }]);
      await rejectsWith(s3.send(new DeleteObjectCommand({ Bucket: b, Key: "doc", VersionId: v1 })), "AccessDenied", 403);

      const res = await s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: "doc", VersionId: v1 }, { Key: "other" }] } }));
      assert.deepEqual(res.Errors, [{ Key: "doc", VersionId: v1, Code: "AccessDenied", Message: "Access Denied" }]);
      assert.deepEqual(res.Deleted?.map((d) => [d.Key, d.DeleteMarker]), [["other", true]], "a delete without a version id is s3:DeleteObject, not denied");
      assert.ok(await exists(b, "doc", v1), "the denied version is still there");
    });

    it("refuses keys under a prefix the policy denies s3:DeleteObject on, in verbose and quiet mode", async () => {
      const b = "authz-del-prefix";
      await s3.send(new CreateBucketCommand({ Bucket: b }));
      for (const k of ["protected/a", "protected/b", "open/a", "open/b"]) await put(s3, b, k);
      await setPolicy(b, [{ Effect: "Deny", Principal: "*", Action: "s3:DeleteObject", Resource: `arn:aws:s3:::${b}/protected/*` }]);
      await rejectsWith(s3.send(new DeleteObjectCommand({ Bucket: b, Key: "protected/a" })), "AccessDenied", 403);

      const verbose = await s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: "protected/a" }, { Key: "open/a" }] } }));
      assert.deepEqual(verbose.Errors, [{ Key: "protected/a", Code: "AccessDenied", Message: "Access Denied" }]);
      assert.deepEqual(verbose.Deleted?.map((d) => d.Key), ["open/a"]);
      const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Quiet: true, Objects: [{ Key: "protected/b" }, { Key: "open/b" }] } }));
      assert.deepEqual(quiet.Errors?.map((e) => [e.Key, e.Code]), [["protected/b", "AccessDenied"]]);
      assert.equal(quiet.Deleted, undefined);
      assert.ok((await exists(b, "protected/a")) && (await exists(b, "protected/b")));
      assert.ok(!(await exists(b, "open/a")) && !(await exists(b, "open/b")));
    });

    it("lets another account allowed s3:DeleteObject on a prefix (and on the bucket) delete only that prefix's keys", async () => {
      const b = "authz-del-cross";
      await s3.send(new CreateBucketCommand({ Bucket: b }));
      for (const k of ["scratch/a", "keep/a"]) await put(s3, b, k);
      // Naming the bucket's own ARN too is common (with ListBucket): it must not open every key.
      await allowOther(b, ["s3:DeleteObject", "s3:ListBucket"], [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/scratch/*`]);
      await rejectsWith(other.send(new DeleteObjectCommand({ Bucket: b, Key: "keep/a" })), "AccessDenied", 403);

      const res = await other.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: "scratch/a" }, { Key: "keep/a" }] } }));
      assert.deepEqual(res.Errors, [{ Key: "keep/a", Code: "AccessDenied", Message: "Access Denied" }]);
      assert.deepEqual(res.Deleted?.map((d) => d.Key), ["scratch/a"]);
      assert.ok(await exists(b, "keep/a"));
      assert.ok(!(await exists(b, "scratch/a")));
    });

    it("lets another account allowed s3:DeleteObject only on bucket/prefix/* call DeleteObjects for those keys", async () => {
      const b = "authz-del-prefix-only";
      await s3.send(new CreateBucketCommand({ Bucket: b }));
      for (const k of ["scratch/a", "scratch/b", "keep/a"]) await put(s3, b, k);
      await allowOther(b, ["s3:DeleteObject"], [`arn:aws:s3:::${b}/scratch/*`]);
      const res = await other.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: "scratch/a" }, { Key: "scratch/b" }, { Key: "keep/a" }] } }));
      assert.deepEqual(res.Deleted?.map((d) => d.Key).sort(), ["scratch/a", "scratch/b"]);
      assert.deepEqual(res.Errors?.map((e) => [e.Key, e.Code]), [["keep/a", "AccessDenied"]]);
      assert.ok(await exists(b, "keep/a"));
    });

    it("answers another account without any grant key by key (AccessDenied each), deleting nothing", async () => {
      const b = "authz-del-none";
      await s3.send(new CreateBucketCommand({ Bucket: b }));
      await put(s3, b, "a");
      const res = await other.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: "a" }, { Key: "missing" }] } }));
      assert.deepEqual(res.Errors?.map((e) => [e.Key, e.Code]).sort(), [["a", "AccessDenied"], ["missing", "AccessDenied"]]);
      assert.ok(await exists(b, "a"));
    });

    it("checks a version's s3:DeleteObjectVersion for another account: allowed s3:DeleteObject alone, the version stays", async () => {
      const b = "authz-del-cross-version";
      await versioned(b);
      const v1 = await put(s3, b, "k");
      await allowOther(b, ["s3:DeleteObject"], [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`]);
      const refused = await other.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: "k", VersionId: v1 }] } }));
      assert.deepEqual(refused.Errors?.map((e) => [e.Key, e.VersionId, e.Code]), [["k", v1, "AccessDenied"]]);
      assert.ok(await exists(b, "k", v1));
      await allowOther(b, ["s3:DeleteObjectVersion"]);
      const done = await other.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: "k", VersionId: v1 }] } }));
      assert.equal(done.Errors, undefined);
      assert.ok(!(await exists(b, "k", v1)));
    });

    it("authorizes the governance bypass per key: a key whose bypass the policy denies stays, the others go", async () => {
      const b = "authz-del-bypass";
      await versioned(b, { ObjectLockEnabledForBucket: true });
      const lock = { ObjectLockMode: "GOVERNANCE" as const, ObjectLockRetainUntilDate: inDays(1), ChecksumAlgorithm: "CRC32" as const };
      const va = (await s3.send(new PutObjectCommand({ Bucket: b, Key: "free/a", Body: "a", ...lock }))).VersionId!;
      const vb = (await s3.send(new PutObjectCommand({ Bucket: b, Key: "kept/b", Body: "b", ...lock }))).VersionId!;
      await setPolicy(b, [{ Effect: "Deny", Principal: "*", Action: "s3:BypassGovernanceRetention", Resource: `arn:aws:s3:::${b}/kept/*` }]);
      const res = await s3.send(
        new DeleteObjectsCommand({ Bucket: b, BypassGovernanceRetention: true, Delete: { Objects: [{ Key: "free/a", VersionId: va }, { Key: "kept/b", VersionId: vb }] } }),
      );
      assert.deepEqual(res.Deleted?.map((d) => d.Key), ["free/a"]);
      assert.deepEqual(res.Errors?.map((e) => [e.Key, e.Code]), [["kept/b", "AccessDenied"]]);
      assert.ok(await exists(b, "kept/b", vb));
    });
  });

  describe("version-specific actions (item 4)", () => {
    const b = "authz-versions";
    let v1 = "";
    before(async () => {
      await versioned(b, { ObjectOwnership: "ObjectWriter" });
      v1 = await put(s3, b, "k");
      await put(s3, b, "k");
      await s3.send(new PutObjectTaggingCommand({ Bucket: b, Key: "k", VersionId: v1, Tagging: { TagSet: [{ Key: "t", Value: "1" }] } }));
    });

    const cases: [string, string, string, () => Promise<unknown>][] = [
      ["PutObjectTagging", "s3:PutObjectTagging", "s3:PutObjectVersionTagging", () => other.send(new PutObjectTaggingCommand({ Bucket: b, Key: "k", VersionId: v1, Tagging: { TagSet: [{ Key: "t", Value: "2" }] } }))],
      ["GetObjectTagging", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", () => other.send(new GetObjectTaggingCommand({ Bucket: b, Key: "k", VersionId: v1 }))],
      ["DeleteObjectTagging", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging", () => other.send(new DeleteObjectTaggingCommand({ Bucket: b, Key: "k", VersionId: v1 }))],
      ["PutObjectAcl", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", () => other.send(new PutObjectAclCommand({ Bucket: b, Key: "k", VersionId: v1, ACL: "private" }))],
      ["GetObjectAcl", "s3:GetObjectAcl", "s3:GetObjectVersionAcl", () => other.send(new GetObjectAclCommand({ Bucket: b, Key: "k", VersionId: v1 }))],
      ["GetObject", "s3:GetObject", "s3:GetObjectVersion", () => other.send(new GetObjectCommand({ Bucket: b, Key: "k", VersionId: v1 }))],
      ["DeleteObject", "s3:DeleteObject", "s3:DeleteObjectVersion", () => other.send(new DeleteObjectCommand({ Bucket: b, Key: "k", VersionId: "does-not-exist" }))],
    ];
    for (const [op, wrong, right, send] of cases) {
      it(`authorizes ${op} with a versionId as ${right}, not ${wrong}`, async () => {
        await allowOther(b, [wrong]);
        await rejectsWith(send(), "AccessDenied", 403);
        await allowOther(b, [right]);
        await send();
      });
    }

    it("authorizes GetObjectAttributes as s3:GetObject and s3:GetObjectAttributes (the Version pair with a versionId)", async () => {
      const attrs = (VersionId?: string) => other.send(new GetObjectAttributesCommand({ Bucket: b, Key: "k", VersionId, ObjectAttributes: ["ETag"] }));
      for (const alone of ["s3:GetObjectAttributes", "s3:GetObject"]) {
        await allowOther(b, [alone]);
        await rejectsWith(attrs(), "AccessDenied", 403);
      }
      await allowOther(b, ["s3:GetObject", "s3:GetObjectAttributes"]);
      await attrs();
      await rejectsWith(attrs(v1), "AccessDenied", 403);
      for (const alone of ["s3:GetObjectVersionAttributes", "s3:GetObjectVersion"]) {
        await allowOther(b, [alone]);
        await rejectsWith(attrs(v1), "AccessDenied", 403);
      }
      await allowOther(b, ["s3:GetObjectVersion", "s3:GetObjectVersionAttributes"]);
      await attrs(v1);
    });
  });

  describe("actions a write's headers add (item 4)", () => {
    const b = "authz-write-headers";
    const src = "authz-write-source";
    before(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: "ObjectWriter" }));
      await s3.send(new CreateBucketCommand({ Bucket: src }));
      await put(s3, src, "s");
      await setPolicy(src, [{ Effect: "Allow", Principal: { AWS: OTHER_ID }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${src}/*` }]);
    });

    const writes: [string, string, () => Promise<unknown>][] = [
      ["PutObject with x-amz-tagging", "s3:PutObjectTagging", () => other.send(new PutObjectCommand({ Bucket: b, Key: "t", Body: "x", Tagging: "a=1" }))],
      ["PutObject with x-amz-acl", "s3:PutObjectAcl", () => other.send(new PutObjectCommand({ Bucket: b, Key: "a", Body: "x", ACL: "public-read" }))],
      ["PutObject with x-amz-grant-read", "s3:PutObjectAcl", () => other.send(new PutObjectCommand({ Bucket: b, Key: "g", Body: "x", GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' }))],
      ["CopyObject with x-amz-tagging", "s3:PutObjectTagging", () => other.send(new CopyObjectCommand({ Bucket: b, Key: "ct", CopySource: `${src}/s`, TaggingDirective: "REPLACE", Tagging: "a=1" }))],
      ["CopyObject with x-amz-acl", "s3:PutObjectAcl", () => other.send(new CopyObjectCommand({ Bucket: b, Key: "ca", CopySource: `${src}/s`, ACL: "public-read" }))],
      ["CreateMultipartUpload with x-amz-tagging", "s3:PutObjectTagging", () => other.send(new CreateMultipartUploadCommand({ Bucket: b, Key: "mt", Tagging: "a=1" }))],
      ["CreateMultipartUpload with x-amz-acl", "s3:PutObjectAcl", () => other.send(new CreateMultipartUploadCommand({ Bucket: b, Key: "ma", ACL: "public-read" }))],
    ];
    for (const [what, extra, send] of writes) {
      it(`needs ${extra} as well as s3:PutObject for ${what}`, async () => {
        await allowOther(b, ["s3:PutObject"]);
        await rejectsWith(send(), "AccessDenied", 403);
        await allowOther(b, [extra]);
        await rejectsWith(send(), "AccessDenied", 403);
        await allowOther(b, ["s3:PutObject", extra]);
        await send();
      });
    }

    it("needs s3:PutObjectRetention / s3:PutObjectLegalHold for writes with lock headers, on PutObject, CopyObject and CreateMultipartUpload", async () => {
      const lb = "authz-write-lock";
      await versioned(lb, { ObjectLockEnabledForBucket: true });
      const retention = { ObjectLockMode: "GOVERNANCE" as const, ObjectLockRetainUntilDate: inDays(1) };
      const hold = { ObjectLockLegalHoldStatus: "OFF" as const };
      const sends: [string, Record<string, unknown>, () => Promise<unknown>][] = [];
      for (const [extra, headers] of [
        ["s3:PutObjectRetention", retention],
        ["s3:PutObjectLegalHold", hold],
      ] as const) {
        sends.push(
          [extra, headers, () => other.send(new PutObjectCommand({ Bucket: lb, Key: "p", Body: "x", ChecksumAlgorithm: "CRC32", ...headers }))],
          [extra, headers, () => other.send(new CopyObjectCommand({ Bucket: lb, Key: "c", CopySource: `${src}/s`, ...headers }))],
          [extra, headers, () => other.send(new CreateMultipartUploadCommand({ Bucket: lb, Key: "m", ...headers }))],
        );
      }
      for (const [extra, , send] of sends) {
        await allowOther(lb, ["s3:PutObject"]);
        await rejectsWith(send(), "AccessDenied", 403);
        await allowOther(lb, ["s3:PutObject", extra]);
        await send();
      }
    });

    it("authorizes CopyObject's and UploadPartCopy's source as s3:GetObject, or s3:GetObjectVersion with a source versionId", async () => {
      const vsrc = "authz-copy-vsource";
      await versioned(vsrc);
      const sv = await put(s3, vsrc, "s");
      await put(s3, vsrc, "s");
      await allowOther(b, ["s3:PutObject"]);
      const { UploadId } = await other.send(new CreateMultipartUploadCommand({ Bucket: b, Key: "upc" }));
      const copy = (CopySource: string) => other.send(new CopyObjectCommand({ Bucket: b, Key: "copy", CopySource }));
      const partCopy = (CopySource: string) => other.send(new UploadPartCopyCommand({ Bucket: b, Key: "upc", UploadId, PartNumber: 1, CopySource }));
      for (const send of [copy, partCopy]) {
        await setPolicy(vsrc, [{ Effect: "Allow", Principal: { AWS: OTHER_ID }, Action: "s3:PutObject", Resource: `arn:aws:s3:::${vsrc}/*` }]);
        await rejectsWith(send(`${vsrc}/s`), "AccessDenied", 403);
        await setPolicy(vsrc, [{ Effect: "Allow", Principal: { AWS: OTHER_ID }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${vsrc}/*` }]);
        await send(`${vsrc}/s`);
        await rejectsWith(send(`${vsrc}/s?versionId=${sv}`), "AccessDenied", 403);
        await setPolicy(vsrc, [{ Effect: "Allow", Principal: { AWS: OTHER_ID }, Action: "s3:GetObjectVersion", Resource: `arn:aws:s3:::${vsrc}/*` }]);
        await send(`${vsrc}/s?versionId=${sv}`);
        await rejectsWith(send(`${vsrc}/s`), "AccessDenied", 403);
      }
    });

    it("needs s3:GetObjectTagging on the source and s3:PutObjectTagging on the target for a copy that carries the source's tags", async () => {
      const tagged = "authz-copy-tagged";
      await s3.send(new CreateBucketCommand({ Bucket: tagged }));
      await s3.send(new PutObjectCommand({ Bucket: tagged, Key: "t", Body: "x", Tagging: "share=public" }));
      await s3.send(new PutObjectCommand({ Bucket: tagged, Key: "plain", Body: "x" }));
      const copy = (Key: string, TaggingDirective?: "COPY" | "REPLACE") => other.send(new CopyObjectCommand({ Bucket: b, Key: "copied", CopySource: `${tagged}/${Key}`, TaggingDirective }));
      const sourceMay = (actions: string[]) => setPolicy(tagged, [{ Effect: "Allow", Principal: { AWS: OTHER_ID }, Action: actions, Resource: `arn:aws:s3:::${tagged}/*` }]);
      await sourceMay(["s3:GetObject"]);
      await allowOther(b, ["s3:PutObject", "s3:PutObjectTagging"]);
      // Reading the tags through a copy of one's own is reading them.
      await rejectsWith(copy("t"), "AccessDenied", 403);
      await sourceMay(["s3:GetObject", "s3:GetObjectTagging"]);
      await copy("t");
      assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: "copied" }))).TagSet, [{ Key: "share", Value: "public" }]);
      // Writing them where one may only put objects is setting them.
      await allowOther(b, ["s3:PutObject"]);
      await rejectsWith(copy("t"), "AccessDenied", 403);
      // Without tags to carry (none on the source, or REPLACE without x-amz-tagging), s3:PutObject is enough.
      await copy("plain");
      await copy("t", "REPLACE");
      assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: "copied" }))).TagSet, []);
    });

    it("keeps the names of retention and legal hold actions with a versionId (S3 has no Version variant)", async () => {
      const lb = "authz-retention-version";
      await versioned(lb, { ObjectLockEnabledForBucket: true });
      const v = (await s3.send(new PutObjectCommand({ Bucket: lb, Key: "k", Body: "x" }))).VersionId!;
      await allowOther(lb, ["s3:PutObjectRetention", "s3:GetObjectRetention"]);
      await other.send(new PutObjectRetentionCommand({ Bucket: lb, Key: "k", VersionId: v, Retention: { Mode: "GOVERNANCE", RetainUntilDate: inDays(1) } }));
      assert.equal((await other.send(new GetObjectRetentionCommand({ Bucket: lb, Key: "k", VersionId: v }))).Retention?.Mode, "GOVERNANCE");
    });

    it("still lets a bucket ACL WRITE grantee write with ACL and tagging headers (ACLs cannot name the extra actions)", async () => {
      const ab = "authz-acl-writer";
      await s3.send(
        new CreateBucketCommand({ Bucket: ab, ObjectOwnership: "ObjectWriter", GrantWrite: `id="${canonicalIdFor(OTHER_ID)}"`, GrantFullControl: `id="${canonicalIdFor(TEST_ACCOUNT_ID)}"` }),
      );
      await other.send(new PutObjectCommand({ Bucket: ab, Key: "k", Body: "x", ACL: "bucket-owner-full-control", Tagging: "a=1" }));
      // A policy Deny of the extra action still wins over the ACL.
      await setPolicy(ab, [{ Effect: "Deny", Principal: { AWS: OTHER_ID }, Action: "s3:PutObjectTagging", Resource: `arn:aws:s3:::${ab}/*` }]);
      await rejectsWith(other.send(new PutObjectCommand({ Bucket: ab, Key: "k2", Body: "x", Tagging: "a=1" })), "AccessDenied", 403);
      await other.send(new PutObjectCommand({ Bucket: ab, Key: "k3", Body: "x" }));
    });
  });

  describe("inventory delivery authorizes every report key (item 10)", () => {
    it("tells the owner of a run into another account's bucket only that the report cannot go there, not whether the bucket exists or whose it is", async () => {
      const probeSource = "authz-inv-probe";
      const victim = "authz-inv-victim";
      await other.send(new CreateBucketCommand({ Bucket: probeSource }));
      await s3.send(new CreateBucketCommand({ Bucket: victim }));
      const errors: string[] = [];
      for (const [id, Bucket, AccountId] of [
        ["existing", victim, undefined],
        ["guessed-owner", victim, "999999999999"],
        ["missing", "authz-inv-no-such-bucket", undefined],
      ] as const) {
        await other.send(
          new PutBucketInventoryConfigurationCommand({
            Bucket: probeSource,
            Id: id,
            InventoryConfiguration: {
              Id: id,
              IsEnabled: true,
              IncludedObjectVersions: "Current",
              Schedule: { Frequency: "Daily" },
              Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${Bucket}`, Format: "CSV", AccountId } },
            },
          }),
        );
        const run = await runInventory(server, probeSource, id, otherCredentials);
        assert.equal(run.status, "failed");
        errors.push(run.error!.replace(Bucket, "<bucket>"));
      }
      assert.deepEqual(errors, Array(3).fill("destination bucket <bucket> does not exist or does not accept this report"));
    });

    it("fails the run, writing nothing, when the destination policy lets the service write only the manifest keys", async () => {
      const source = "authz-inv-source";
      const dest = "authz-inv-dest";
      await s3.send(new CreateBucketCommand({ Bucket: source }));
      await s3.send(new CreateBucketCommand({ Bucket: dest }));
      await put(s3, source, "k");
      const base = `reports/${source}/manifests-only`;
      await setPolicy(dest, [
        {
          Effect: "Allow",
          Principal: { Service: "s3.amazonaws.com" },
          Action: "s3:PutObject",
          Resource: [`arn:aws:s3:::${dest}/${base}/*manifest.json`, `arn:aws:s3:::${dest}/${base}/*manifest.checksum`],
        },
      ]);
      await s3.send(
        new PutBucketInventoryConfigurationCommand({
          Bucket: source,
          Id: "manifests-only",
          InventoryConfiguration: {
            Id: "manifests-only",
            IsEnabled: true,
            IncludedObjectVersions: "Current",
            Schedule: { Frequency: "Daily" },
            Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${dest}`, Format: "CSV", Prefix: "reports" } },
          },
        }),
      );
      const blobsBefore = readdirSync(join(server.dataDir, "blobs"), { recursive: true }).length;
      const run = await runInventory(server, source, "manifests-only");
      assert.equal(run.status, "failed");
      assert.match(run.error ?? "", /does not allow s3\.amazonaws\.com to write/);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: dest }));
      assert.equal(listed.KeyCount, 0, "no data file, manifest or symlink was published");
      assert.equal(readdirSync(join(server.dataDir, "blobs"), { recursive: true }).length, blobsBefore, "no data file left behind");

      // The same policy widened to data/ and hive/ delivers.
      await setPolicy(dest, [{ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "s3:PutObject", Resource: `arn:aws:s3:::${dest}/${base}/*` }]);
      const ok = await runInventory(server, source, "manifests-only");
      assert.equal(ok.status, "succeeded", ok.error);
    });
  });
});
