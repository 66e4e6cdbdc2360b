// Bucket policies through the AWS SDK v3: a second account uses what it is granted and is denied
// the rest; anonymous access through a public policy; Deny over the owner; policy errors.
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  type Tag,
} from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";

describe("bucket policies", () => {
  let server: TestServer;
  let owner: S3Client;
  let other: S3Client;
  let otherId: string;
  const Bucket = "shared-bucket";
  const arn = `arn:aws:s3:::${Bucket}`;

  before(async () => {
    server = await startTestServer();
    owner = server.client;
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    otherId = creds.accountId;
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
    await owner.send(new CreateBucketCommand({ Bucket }));
    await owner.send(new PutObjectCommand({ Bucket, Key: "shared/report.txt", Body: "for the other account" }));
    await owner.send(new PutObjectCommand({ Bucket, Key: "private/secret.txt", Body: "owner only" }));
  });
  after(async () => {
    other.destroy();
    await server.stop();
  });

  it("answers NoSuchBucketPolicy before a policy exists, and AccessDenied to other accounts", async () => {
    await rejectsWith(owner.send(new GetBucketPolicyCommand({ Bucket })), "NoSuchBucketPolicy", 404);
    await rejectsWith(other.send(new GetObjectCommand({ Bucket, Key: "shared/report.txt" })), "AccessDenied", 403);
  });

  it("lets a second account use what a policy grants and denies it the rest", async () => {
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Sid: "ReadShared", Effect: "Allow", Principal: { AWS: otherId }, Action: "s3:GetObject", Resource: `${arn}/shared/*` },
        { Sid: "ListShared", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${otherId}:root` }, Action: "s3:ListBucket", Resource: arn, Condition: { StringLike: { "s3:prefix": "shared/*" } } },
        { Sid: "Inventory", Effect: "Allow", Principal: { AWS: otherId }, Action: "s3:PutInventoryConfiguration", Resource: arn },
      ],
    });
    const put = await owner.send(new PutBucketPolicyCommand({ Bucket, Policy: policy }));
    assert.equal(put.$metadata.httpStatusCode, 204);
    const got = await owner.send(new GetBucketPolicyCommand({ Bucket }));
    assert.deepEqual(JSON.parse(got.Policy!), JSON.parse(policy));

    const read = await other.send(new GetObjectCommand({ Bucket, Key: "shared/report.txt" }));
    assert.equal(await read.Body!.transformToString(), "for the other account");
    await rejectsWith(other.send(new GetObjectCommand({ Bucket, Key: "private/secret.txt" })), "AccessDenied", 403);
    await rejectsWith(other.send(new PutObjectCommand({ Bucket, Key: "shared/new.txt", Body: "x" })), "AccessDenied", 403);
    const listed = await other.send(new ListObjectsV2Command({ Bucket, Prefix: "shared/" }));
    assert.deepEqual(listed.Contents?.map((c) => c.Key), ["shared/report.txt"]);
    await rejectsWith(other.send(new ListObjectsV2Command({ Bucket, Prefix: "private/" })), "AccessDenied", 403);
    await other.send(
      new PutBucketInventoryConfigurationCommand({
        Bucket,
        Id: "granted",
        InventoryConfiguration: {
          Id: "granted",
          IsEnabled: true,
          IncludedObjectVersions: "Current",
          Schedule: { Frequency: "Daily" },
          Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::reports-bucket", Format: "CSV" } },
        },
      }),
    );
    const status = await owner.send(new GetBucketPolicyStatusCommand({ Bucket }));
    assert.equal(status.PolicyStatus?.IsPublic, false);
  });

  it("lets anonymous callers read through a public policy", async () => {
    const B = "public-bucket";
    await owner.send(new CreateBucketCommand({ Bucket: B }));
    await owner.send(new PutObjectCommand({ Bucket: B, Key: "index.html", Body: "<h1>hi</h1>" }));
    assert.equal((await fetch(`${server.url}/${B}/index.html`)).status, 403);
    await owner.send(
      new PutBucketPolicyCommand({
        Bucket: B,
        Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${B}/*` }] }),
      }),
    );
    const res = await fetch(`${server.url}/${B}/index.html`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "<h1>hi</h1>");
    assert.equal((await fetch(`${server.url}/${B}/index.html`, { method: "DELETE" })).status, 403);
    const status = await owner.send(new GetBucketPolicyStatusCommand({ Bucket: B }));
    assert.equal(status.PolicyStatus?.IsPublic, true);
  });

  it("answers a read of a missing key 404 only to a caller who may list that key (s3:prefix is the key)", async () => {
    const B = "listers-bucket";
    await owner.send(new CreateBucketCommand({ Bucket: B }));
    await owner.send(new PutObjectCommand({ Bucket: B, Key: "public/present", Body: "x" }));
    await owner.send(new PutObjectCommand({ Bucket: B, Key: "public/deleted", Body: "x" }));
    await owner.send(new DeleteObjectCommand({ Bucket: B, Key: "public/deleted" }));
    const Policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: otherId }, Action: "s3:ListBucket", Resource: `arn:aws:s3:::${B}`, Condition: { StringLike: { "s3:prefix": "public/*" } } }],
    });
    await owner.send(new PutBucketPolicyCommand({ Bucket: B, Policy }));
    await rejectsWith(other.send(new HeadObjectCommand({ Bucket: B, Key: "public/missing" })), undefined, 404);
    await rejectsWith(other.send(new GetObjectCommand({ Bucket: B, Key: "public/missing" })), "NoSuchKey", 404);
    await rejectsWith(other.send(new GetObjectCommand({ Bucket: B, Key: "public/deleted" })), "NoSuchKey", 404);
    // An existing key stays unreadable without s3:GetObject; outside the listable prefix nothing is told.
    await rejectsWith(other.send(new GetObjectCommand({ Bucket: B, Key: "public/present" })), "AccessDenied", 403);
    await rejectsWith(other.send(new HeadObjectCommand({ Bucket: B, Key: "private/missing" })), undefined, 403);
    await rejectsWith(other.send(new GetObjectCommand({ Bucket: B, Key: "private/missing" })), "AccessDenied", 403);
    await rejectsWith(other.send(new GetObjectCommand({ Bucket: B, Key: "public/missing", VersionId: "null" })), "AccessDenied", 403);
  });

  it("denies even the owner what a Deny names, yet lets the owner remove the policy", async () => {
    const B = "locked-bucket";
    await owner.send(new CreateBucketCommand({ Bucket: B }));
    await owner.send(new PutObjectCommand({ Bucket: B, Key: "keep.txt", Body: "keep" }));
    await owner.send(
      new PutBucketPolicyCommand({
        Bucket: B,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Deny", Principal: "*", Action: ["s3:DeleteObject", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"], Resource: [`arn:aws:s3:::${B}`, `arn:aws:s3:::${B}/*`] },
          ],
        }),
      }),
    );
    await rejectsWith(owner.send(new DeleteObjectCommand({ Bucket: B, Key: "keep.txt" })), "AccessDenied", 403);
    await owner.send(new DeleteBucketPolicyCommand({ Bucket: B }));
    await owner.send(new DeleteObjectCommand({ Bucket: B, Key: "keep.txt" }));
  });

  it("evaluates the SSE-C algorithm a write names (s3:x-amz-server-side-encryption-customer-algorithm)", async () => {
    const B = "ssec-policy-bucket";
    await owner.send(new CreateBucketCommand({ Bucket: B }));
    const Policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: `arn:aws:s3:::${B}/*`, Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption-customer-algorithm": "AES256" } } }],
    });
    await owner.send(new PutBucketPolicyCommand({ Bucket: B, Policy }));
    const key = randomBytes(32);
    const sse = { SSECustomerAlgorithm: "AES256", SSECustomerKey: key.toString("base64"), SSECustomerKeyMD5: createHash("md5").update(key).digest("base64") };
    await owner.send(new PutObjectCommand({ Bucket: B, Key: "sealed", Body: "x", ...sse }));
    await rejectsWith(owner.send(new PutObjectCommand({ Bucket: B, Key: "plain", Body: "x" })), "AccessDenied", 403);
  });

  it("answers MalformedPolicy with what is wrong", async () => {
    await assert.rejects(owner.send(new PutBucketPolicyCommand({ Bucket, Policy: "{ not json" })), (e: Error) => e.name === "MalformedPolicy" && /JSON/.test(e.message));
    const wrongResource = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::another-bucket/*" }] });
    await assert.rejects(owner.send(new PutBucketPolicyCommand({ Bucket, Policy: wrongResource })), (e: Error) => e.name === "MalformedPolicy" && /resource/.test(e.message));
    const badAction = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:Teleport", Resource: `${arn}/*` }] });
    await assert.rejects(owner.send(new PutBucketPolicyCommand({ Bucket, Policy: badAction })), (e: Error) => e.name === "MalformedPolicy" && /action/.test(e.message));
  });

  it("keeps policies across a restart", async () => {
    server = await server.restart();
    owner = server.client;
    other.destroy();
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), { accountId: otherId }, new Date());
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
    const read = await other.send(new GetObjectCommand({ Bucket, Key: "shared/report.txt" }));
    assert.equal(await read.Body!.transformToString(), "for the other account");
  });
});

// s3:ExistingObjectTag/<key> (the tags of the version a request reads or changes),
// s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys (the tags a request sets), and the copy
// keys s3:x-amz-copy-source and s3:x-amz-metadata-directive, as Ceph's s3-tests use them.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html
describe("bucket policy conditions on object tags", () => {
  let server: TestServer;
  let owner: S3Client;
  let other: S3Client;
  let otherId: string;

  before(async () => {
    server = await startTestServer();
    owner = server.client;
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    otherId = creds.accountId;
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
  });
  after(async () => {
    other.destroy();
    await server.stop();
  });

  const tagSet = (...tags: [string, string][]): { TagSet: Tag[] } => ({ TagSet: tags.map(([Key, Value]) => ({ Key, Value })) });
  const tagsOf = async (Bucket: string, Key: string, VersionId?: string) =>
    ((await owner.send(new GetObjectTaggingCommand({ Bucket, Key, VersionId }))).TagSet ?? []).map((t) => [t.Key, t.Value]);
  async function bucketWith(Bucket: string, statements: object[], objects: Record<string, string> = {}, client = owner): Promise<void> {
    await client.send(new CreateBucketCommand({ Bucket }));
    for (const [Key, Tagging] of Object.entries(objects)) await client.send(new PutObjectCommand({ Bucket, Key, Body: Key, Tagging }));
    if (statements.length > 0) await client.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) }));
  }
  const grant = (Bucket: string, Action: string | string[], Condition?: object) => ({ Effect: "Allow", Principal: { AWS: otherId }, Action, Resource: `arn:aws:s3:::${Bucket}/*`, Condition });
  const isPublic = { StringEquals: { "s3:ExistingObjectTag/security": "public" } };

  it("reads only objects whose existing tags the policy names: GetObject, HeadObject, GetObjectTagging, GetObjectAcl", async () => {
    const B = "tag-read";
    await bucketWith(B, [grant(B, ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectAcl"], isPublic)], {
      publictag: "security=public&foo=bar",
      privatetag: "security=private",
      invalidtag: "security1=public",
      untagged: "",
    });
    assert.equal(await (await other.send(new GetObjectCommand({ Bucket: B, Key: "publictag" }))).Body!.transformToString(), "publictag");
    await other.send(new HeadObjectCommand({ Bucket: B, Key: "publictag" }));
    assert.equal((await other.send(new GetObjectTaggingCommand({ Bucket: B, Key: "publictag" }))).TagSet?.length, 2);
    await other.send(new GetObjectAclCommand({ Bucket: B, Key: "publictag" }));
    for (const Key of ["privatetag", "invalidtag", "untagged", "missing"]) {
      await rejectsWith(other.send(new GetObjectCommand({ Bucket: B, Key })), "AccessDenied", 403);
      await rejectsWith(other.send(new HeadObjectCommand({ Bucket: B, Key })), undefined, 403);
      await rejectsWith(other.send(new GetObjectTaggingCommand({ Bucket: B, Key })), "AccessDenied", 403);
      await rejectsWith(other.send(new GetObjectAclCommand({ Bucket: B, Key })), "AccessDenied", 403);
    }
    // The tags grant nothing else, and the owner needs no Allow.
    await rejectsWith(other.send(new DeleteObjectTaggingCommand({ Bucket: B, Key: "publictag" })), "AccessDenied", 403);
    assert.equal(await (await owner.send(new GetObjectCommand({ Bucket: B, Key: "privatetag" }))).Body!.transformToString(), "privatetag");
  });

  it("decides a read of a version by that version's tags", async () => {
    const B = "tag-versions";
    await bucketWith(B, []);
    await owner.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: "Enabled" } }));
    const v1 = (await owner.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "first", Tagging: "security=public" }))).VersionId;
    await owner.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "second", Tagging: "security=private" }));
    await owner.send(new PutBucketPolicyCommand({ Bucket: B, Policy: JSON.stringify({ Statement: [grant(B, ["s3:GetObject", "s3:GetObjectVersion"], isPublic)] }) }));
    await rejectsWith(other.send(new GetObjectCommand({ Bucket: B, Key: "k" })), "AccessDenied", 403);
    assert.equal(await (await other.send(new GetObjectCommand({ Bucket: B, Key: "k", VersionId: v1 }))).Body!.transformToString(), "first");
  });

  it("serves the version whose tags it decided on, not one written meanwhile", async () => {
    const B = "tag-read-race";
    await bucketWith(B, [grant(B, "s3:GetObject", isPublic)]);
    await owner.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: "Enabled" } }));
    await owner.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "public body", Tagging: "security=public" }));
    const store = server.context.metadata;
    const getLatest = store.getLatest.bind(store);
    let raced = false;
    // Right after the edge reads the public version, a private one becomes the key's latest.
    store.getLatest = async (bucket, key) => {
      const found = await getLatest(bucket, key);
      if (!raced && bucket === B) {
        raced = true;
        await owner.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "private body", Tagging: "security=private" }));
      }
      return found;
    };
    try {
      assert.equal(await (await other.send(new GetObjectCommand({ Bucket: B, Key: "k" }))).Body!.transformToString(), "public body");
    } finally {
      store.getLatest = getLatest;
    }
    assert.equal(raced, true);
    await rejectsWith(other.send(new GetObjectCommand({ Bucket: B, Key: "k" })), "AccessDenied", 403);
  });

  it("changes tags only while the existing tags allow it, and not on a decision made on stale tags", async () => {
    const B = "tag-write";
    await bucketWith(B, [grant(B, "s3:PutObjectTagging", isPublic)], { publictag: "security=public&foo=bar", privatetag: "security=private" });
    await other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "publictag", Tagging: tagSet(["security", "public"], ["foo", "bar"]) }));
    await rejectsWith(other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "privatetag", Tagging: tagSet(["security", "public"]) })), "AccessDenied", 403);
    // Allowed by the tags it has, the change may take away what allowed it; then nothing more is.
    await other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "publictag", Tagging: tagSet(["security", "private"]) }));
    await rejectsWith(other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "publictag", Tagging: tagSet(["security", "public"]) })), "AccessDenied", 403);
    assert.deepEqual(await tagsOf(B, "publictag"), [["security", "private"]]);

    await owner.send(new PutObjectTaggingCommand({ Bucket: B, Key: "publictag", Tagging: tagSet(["security", "public"]) }));
    const store = server.context.metadata;
    const updateVersion = store.updateVersion.bind(store);
    let raced = false;
    // The owner makes the object private between the decision and the change.
    store.updateVersion = async (bucket, key, versionId, update) => {
      if (!raced && bucket.name === B) {
        raced = true;
        await updateVersion(bucket, key, versionId, (current) => ({ extra: { ...current.extra, tags: [["security", "private"]] } }));
      }
      return updateVersion(bucket, key, versionId, update);
    };
    try {
      await rejectsWith(other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "publictag", Tagging: tagSet(["security", "public"], ["mine", "now"]) })), "OperationAborted", 409);
    } finally {
      store.updateVersion = updateVersion;
    }
    assert.equal(raced, true);
    assert.deepEqual(await tagsOf(B, "publictag"), [["security", "private"]]);
  });

  it("decides PutObject and CreateMultipartUpload by the tags they set (s3:RequestObjectTag)", async () => {
    const B = "tag-request-put";
    await bucketWith(B, [grant(B, ["s3:PutObject", "s3:PutObjectTagging"], { StringEquals: { "s3:RequestObjectTag/security": "public" } })]);
    await rejectsWith(other.send(new PutObjectCommand({ Bucket: B, Key: "none", Body: "x" })), "AccessDenied", 403);
    await rejectsWith(other.send(new PutObjectCommand({ Bucket: B, Key: "private", Body: "x", Tagging: "security=private" })), "AccessDenied", 403);
    await other.send(new PutObjectCommand({ Bucket: B, Key: "public", Body: "x", Tagging: "security=public" }));
    assert.deepEqual(await tagsOf(B, "public"), [["security", "public"]]);
    // The tags evaluated are the tags stored: the header decoded once, the same way.
    await other.send(new PutObjectCommand({ Bucket: B, Key: "encoded", Body: "x", Tagging: "secur%69ty=pub%6Cic" }));
    assert.deepEqual(await tagsOf(B, "encoded"), [["security", "public"]]);
    await rejectsWith(other.send(new CreateMultipartUploadCommand({ Bucket: B, Key: "mpu" })), "AccessDenied", 403);
    await other.send(new CreateMultipartUploadCommand({ Bucket: B, Key: "mpu", Tagging: "security=public" }));
  });

  it("decides PutObjectTagging by the tags in its body (s3:RequestObjectTag, s3:RequestObjectTagKeys)", async () => {
    const B = "tag-request-body";
    const Condition = { StringEquals: { "s3:RequestObjectTag/security": "public" }, "ForAllValues:StringEquals": { "s3:RequestObjectTagKeys": ["security", "owner"] } };
    await bucketWith(B, [grant(B, "s3:PutObjectTagging", Condition)], { k: "start=here" });
    await other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "k", Tagging: tagSet(["security", "public"]) }));
    await other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "k", Tagging: tagSet(["security", "public"], ["owner", "me"]) }));
    await rejectsWith(other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "k", Tagging: tagSet(["security", "private"]) })), "AccessDenied", 403);
    await rejectsWith(other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "k", Tagging: tagSet(["security", "public"], ["extra", "x"]) })), "AccessDenied", 403);
    await rejectsWith(other.send(new PutObjectTaggingCommand({ Bucket: B, Key: "k", Tagging: tagSet() })), "AccessDenied", 403);
    assert.deepEqual(await tagsOf(B, "k"), [["owner", "me"], ["security", "public"]]);
  });

  it("copies by the source's tags (s3:GetObject, and s3:GetObjectTagging for the tags carried, on the source) and the tags the copy gets", async () => {
    const src = "tag-copy-source";
    await bucketWith(src, [grant(src, ["s3:GetObject", "s3:GetObjectTagging"], isPublic)], { pub: "security=public", priv: "security=private" });
    const mine = "tag-copy-mine";
    await bucketWith(mine, [], {}, other);
    await other.send(new CopyObjectCommand({ Bucket: mine, Key: "copy", CopySource: `${src}/pub` }));
    await rejectsWith(other.send(new CopyObjectCommand({ Bucket: mine, Key: "copy", CopySource: `${src}/priv` })), "AccessDenied", 403);

    // A copy keeps the source's tags unless it replaces them: those are the tags the policy sees.
    const from = "tag-copy-from";
    await bucketWith(from, [], { pub: "security=public", priv: "security=private" }, other);
    const dest = "tag-copy-dest";
    await bucketWith(dest, [grant(dest, ["s3:PutObject", "s3:PutObjectTagging"], { StringEquals: { "s3:RequestObjectTag/security": "public" } })]);
    await other.send(new CopyObjectCommand({ Bucket: dest, Key: "kept", CopySource: `${from}/pub` }));
    assert.deepEqual(await tagsOf(dest, "kept"), [["security", "public"]]);
    await rejectsWith(other.send(new CopyObjectCommand({ Bucket: dest, Key: "x", CopySource: `${from}/priv` })), "AccessDenied", 403);
    // x-amz-tagging counts only with REPLACE: with COPY it would not be what is stored.
    await rejectsWith(other.send(new CopyObjectCommand({ Bucket: dest, Key: "x", CopySource: `${from}/priv`, Tagging: "security=public" })), "AccessDenied", 403);
    await other.send(new CopyObjectCommand({ Bucket: dest, Key: "replaced", CopySource: `${from}/priv`, TaggingDirective: "REPLACE", Tagging: "security=public" }));
    assert.deepEqual(await tagsOf(dest, "replaced"), [["security", "public"]]);
  });

  it("evaluates s3:x-amz-copy-source and s3:x-amz-metadata-directive on a copy", async () => {
    const src = "copy-keys-source";
    await bucketWith(src, [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${src}/*` }], {
      "public/foo": "",
      "public/bar": "",
      "private/foo": "",
    });
    const dest = "copy-keys-dest";
    await bucketWith(dest, [grant(dest, "s3:PutObject", { StringLike: { "s3:x-amz-copy-source": `${src}/public/*` } })]);
    await other.send(new CopyObjectCommand({ Bucket: dest, Key: "new_foo", CopySource: `${src}/public/foo` }));
    await rejectsWith(other.send(new CopyObjectCommand({ Bucket: dest, Key: "new_foo2", CopySource: `${src}/private/foo` })), "AccessDenied", 403);
    // The same source spelt with a leading slash is the same source: policies name it bucket/key.
    await other.send(new CopyObjectCommand({ Bucket: dest, Key: "new_foo3", CopySource: `/${src}/public/foo` }));
    assert.equal(await (await owner.send(new GetObjectCommand({ Bucket: dest, Key: "new_foo" }))).Body!.transformToString(), "public/foo");
    const denying = "copy-keys-deny";
    await bucketWith(denying, [
      grant(denying, "s3:PutObject"),
      { Effect: "Deny", Principal: { AWS: otherId }, Action: "s3:PutObject", Resource: `arn:aws:s3:::${denying}/*`, Condition: { StringLike: { "s3:x-amz-copy-source": `${src}/private/*` } } },
    ]);
    for (const spelling of [`${src}/private/foo`, `/${src}/private/foo`, `${src}/%70rivate/foo?versionId=null`, `copy-keys-s%6Furce/private/foo`]) {
      await rejectsWith(other.send(new CopyObjectCommand({ Bucket: denying, Key: "copied", CopySource: spelling })), "AccessDenied", 403);
    }
    await other.send(new CopyObjectCommand({ Bucket: denying, Key: "copied", CopySource: `/${src}/public/foo` }));

    const meta = "copy-keys-meta";
    await bucketWith(meta, [grant(meta, "s3:PutObject", { StringEquals: { "s3:x-amz-metadata-directive": "COPY" } })]);
    await other.send(new CopyObjectCommand({ Bucket: meta, Key: "new_foo", CopySource: `${src}/public/foo`, MetadataDirective: "COPY" }));
    await rejectsWith(other.send(new CopyObjectCommand({ Bucket: meta, Key: "new_foo2", CopySource: `${src}/public/bar`, Metadata: { foo: "bar" } })), "AccessDenied", 403);
  });
});
