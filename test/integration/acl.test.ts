// Object Ownership and ACLs end to end with the AWS SDK v3 and boto3: ownership controls and their
// default, canned ACLs and grant headers on writes, Get/Put Object and Bucket ACLs, the errors S3
// answers while ACLs are disabled, ACL grants in authorization (a policy Deny still wins), and the
// ObjectOwner and ObjectAccessControlList inventory columns in CSV, Parquet and ORC.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteBucketOwnershipControlsCommand,
  GetBucketAclCommand,
  GetBucketOwnershipControlsCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketAclCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  UploadPartCommand,
  type InventoryFormat,
  type S3Client,
} from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { getObjectBytes, python, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";
import { NodeSha256 } from "../helpers/raw.js";
import { createAccount, loadSealingKey, canonicalIdFor } from "../../src/auth/accounts.js";

const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const OTHER_ID = "444455556666";

describe("object ownership and ACLs", () => {
  let server: TestServer;
  let s3: S3Client;
  let other: S3Client;
  let otherKeys: { accessKeyId: string; secretAccessKey: string };
  let rootCanonical: string;
  const otherCanonical = canonicalIdFor(OTHER_ID);

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), { accountId: OTHER_ID }, new Date());
    otherKeys = { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
    rootCanonical = (await server.context.metadata.getAccount(server.root.accountId))!.canonicalId;
  });
  after(async () => {
    other.destroy();
    await server.stop();
  });

  /** A signed request with exactly these headers and body (what no SDK command sends). */
  async function raw(method: string, path: string, query: Record<string, string>, headers: Record<string, string> = {}, body?: string, keys = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }) {
    const target = new URL(server.url);
    const signer = new SignatureV4({ credentials: keys, region: "us-east-1", service: "s3", sha256: NodeSha256, uriEscapePath: false });
    const all: Record<string, string> = { host: target.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", ...headers };
    const signed = await signer.sign({ method, protocol: "http:", hostname: target.hostname, port: Number(target.port), path, query, headers: all });
    const qs = Object.entries(query).map(([k, v]) => (v === "" ? k : `${k}=${encodeURIComponent(v)}`)).join("&");
    const { host: _host, ...sendable } = signed.headers as Record<string, string>;
    const res = await fetch(`${server.url}${path}${qs ? "?" + qs : ""}`, { method, headers: sendable, body });
    return { status: res.status, text: await res.text() };
  }
  const code = (text: string) => /<Code>([^<]*)<\/Code>/.exec(text)?.[1];

  describe("with ACLs disabled (BucketOwnerEnforced, the default)", () => {
    const Bucket = "acl-enforced";
    before(async () => {
      await s3.send(new CreateBucketCommand({ Bucket }));
    });

    it("stores BucketOwnerEnforced for a new bucket, and Delete leaves no controls (404 OwnershipControlsNotFoundError)", async () => {
      const got = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket }));
      assert.deepEqual(got.OwnershipControls?.Rules, [{ ObjectOwnership: "BucketOwnerEnforced" }]);
      await s3.send(new CreateBucketCommand({ Bucket: "acl-controls-deleted" }));
      await s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: "acl-controls-deleted" }));
      await rejectsWith(s3.send(new GetBucketOwnershipControlsCommand({ Bucket: "acl-controls-deleted" })), "OwnershipControlsNotFoundError", 404);
      await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: "acl-controls-deleted", OwnershipControls: { Rules: [{ ObjectOwnership: "ObjectWriter" }] } }));
      const again = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: "acl-controls-deleted" }));
      assert.equal(again.OwnershipControls?.Rules?.[0]?.ObjectOwnership, "ObjectWriter");
    });

    it("refuses any ACL but those granting the owner alone (private, bucket-owner-*) on writes and Put*Acl with 400 AccessControlListNotSupported", async () => {
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "x", ACL: "public-read" })), "AccessControlListNotSupported", 400);
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "x", ACL: "authenticated-read" })), "AccessControlListNotSupported", 400);
      await s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "x", ACL: "private" }));
      await s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "x", ACL: "bucket-owner-read" }));
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "x", GrantRead: `id="${otherCanonical}"` })), "AccessControlListNotSupported", 400);
      await rejectsWith(s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "k", ACL: "public-read" })), "AccessControlListNotSupported", 400);
      await s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "x", ACL: "bucket-owner-full-control" }));
      await s3.send(new PutObjectCommand({ Bucket, Key: "k2", Body: "x", GrantFullControl: `id="${rootCanonical}"` }));
      await rejectsWith(s3.send(new PutObjectAclCommand({ Bucket, Key: "k", ACL: "public-read" })), "AccessControlListNotSupported", 400);
      await rejectsWith(s3.send(new PutBucketAclCommand({ Bucket, ACL: "public-read" })), "AccessControlListNotSupported", 400);
      await s3.send(new PutObjectAclCommand({ Bucket, Key: "k", ACL: "bucket-owner-full-control" }));
    });

    it("answers Get*Acl with the bucket owner's FULL_CONTROL", async () => {
      await s3.send(new PutObjectCommand({ Bucket, Key: "read-acl", Body: "x" }));
      for (const acl of [await s3.send(new GetObjectAclCommand({ Bucket, Key: "read-acl" })), await s3.send(new GetBucketAclCommand({ Bucket }))]) {
        assert.equal(acl.Owner?.ID, rootCanonical);
        assert.deepEqual(acl.Grants, [{ Grantee: { Type: "CanonicalUser", ID: rootCanonical, DisplayName: "root" }, Permission: "FULL_CONTROL" }]);
      }
    });

    it("refuses a CreateBucket ACL granting others (InvalidBucketAclWithObjectOwnership) but accepts private", async () => {
      await rejectsWith(s3.send(new CreateBucketCommand({ Bucket: "acl-public-enforced", ACL: "public-read" })), "InvalidBucketAclWithObjectOwnership", 400);
      await s3.send(new CreateBucketCommand({ Bucket: "acl-private-enforced", ACL: "private" }));
    });

    it("refuses to disable ACLs while the bucket ACL grants others (InvalidBucketAclWithObjectOwnership)", async () => {
      const b = "acl-disable-refused";
      await s3.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: "ObjectWriter", ACL: "public-read" }));
      const enforce = { Bucket: b, OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" as const }] } };
      await rejectsWith(s3.send(new PutBucketOwnershipControlsCommand(enforce)), "InvalidBucketAclWithObjectOwnership", 400);
      await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: "private" }));
      await s3.send(new PutBucketOwnershipControlsCommand(enforce));
    });

    it("answers bad ownership input with S3's errors", async () => {
      await rejectsWith(s3.send(new CreateBucketCommand({ Bucket: "acl-bad-ownership", ObjectOwnership: "Nobody" as "ObjectWriter" })), "InvalidArgument", 400);
      const twoRules = "<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>";
      const bad = "<OwnershipControls><Rule><ObjectOwnership>Everyone</ObjectOwnership></Rule></OwnershipControls>";
      for (const body of [twoRules, bad, "<OwnershipControls/>"]) {
        const res = await raw("PUT", `/${Bucket}`, { ownershipControls: "" }, {}, body);
        assert.equal(res.status, 400);
        assert.equal(code(res.text), "MalformedXML");
      }
    });
  });

  describe("with ACLs enabled (ObjectWriter)", () => {
    const Bucket = "acl-writer";
    before(async () => {
      await s3.send(new CreateBucketCommand({ Bucket, ObjectOwnership: "ObjectWriter", GrantWrite: `id="${otherCanonical}"`, GrantRead: `id="${otherCanonical}"`, GrantFullControl: `id="${rootCanonical}"` }));
    });

    it("keeps the CreateBucket grants and shows them with xsi:type that the SDK parses", async () => {
      const acl = await s3.send(new GetBucketAclCommand({ Bucket }));
      assert.equal(acl.Owner?.ID, rootCanonical);
      assert.deepEqual(
        acl.Grants?.map((g) => [g.Grantee?.Type, g.Grantee?.ID, g.Permission]),
        [
          ["CanonicalUser", rootCanonical, "FULL_CONTROL"],
          ["CanonicalUser", otherCanonical, "READ"],
          ["CanonicalUser", otherCanonical, "WRITE"],
        ],
      );
    });

    it("lets a bucket ACL grantee list (READ) and write (WRITE); the writer owns its object", async () => {
      await other.send(new PutObjectCommand({ Bucket, Key: "from-other", Body: "written by the other account" }));
      const listed = await other.send(new ListObjectsV2Command({ Bucket, FetchOwner: true }));
      assert.equal(listed.Contents?.find((o) => o.Key === "from-other")?.Owner?.ID, otherCanonical);
      const acl = await other.send(new GetObjectAclCommand({ Bucket, Key: "from-other" }));
      assert.equal(acl.Owner?.ID, otherCanonical);
      assert.deepEqual(acl.Grants, [{ Grantee: { Type: "CanonicalUser", ID: otherCanonical, DisplayName: `account-${OTHER_ID}` }, Permission: "FULL_CONTROL" }]);
      const got = await other.send(new GetObjectCommand({ Bucket, Key: "from-other" }));
      assert.equal(await got.Body!.transformToString(), "written by the other account");
    });

    it("serves a public-read object to anonymous callers and refuses a private one", async () => {
      await s3.send(new PutObjectCommand({ Bucket, Key: "public", Body: "for everyone", ACL: "public-read" }));
      await s3.send(new PutObjectCommand({ Bucket, Key: "private", Body: "owner only" }));
      const pub = await fetch(`${server.url}/${Bucket}/public`);
      assert.equal(pub.status, 200);
      assert.equal(await pub.text(), "for everyone");
      assert.equal((await fetch(`${server.url}/${Bucket}/private`)).status, 403);
      assert.equal((await fetch(`${server.url}/${Bucket}/public`, { method: "HEAD" })).status, 200);
      // The object's ACL does not let anyone list the bucket.
      assert.equal((await fetch(`${server.url}/${Bucket}?list-type=2`)).status, 403);
      const acl = await s3.send(new GetObjectAclCommand({ Bucket, Key: "public" }));
      assert.deepEqual(acl.Grants?.[1], { Grantee: { Type: "Group", URI: ALL_USERS }, Permission: "READ" });
    });

    it("applies x-amz-grant-* headers on PutObject, CopyObject and multipart uploads as the whole ACL", async () => {
      const grants = { GrantRead: `id="${otherCanonical}", uri="${AUTHENTICATED_USERS}"`, GrantReadACP: `id="${otherCanonical}"` };
      await s3.send(new PutObjectCommand({ Bucket, Key: "granted", Body: "x", ...grants }));
      await s3.send(new CopyObjectCommand({ Bucket, Key: "granted-copy", CopySource: `${Bucket}/private`, ...grants }));
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "granted-mpu", ...grants }));
      const part = await s3.send(new UploadPartCommand({ Bucket, Key: "granted-mpu", UploadId: upload.UploadId, PartNumber: 1, Body: "part" }));
      await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: "granted-mpu", UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
      for (const Key of ["granted", "granted-copy", "granted-mpu"]) {
        const acl = await other.send(new GetObjectAclCommand({ Bucket, Key }));
        assert.deepEqual(
          acl.Grants?.map((g) => [g.Grantee?.Type, g.Grantee?.ID ?? g.Grantee?.URI, g.Permission]),
          [
            ["CanonicalUser", otherCanonical, "READ"],
            ["Group", AUTHENTICATED_USERS, "READ"],
            ["CanonicalUser", otherCanonical, "READ_ACP"],
          ],
          Key,
        );
        const got = await other.send(new GetObjectCommand({ Bucket, Key }));
        assert.equal(got.$metadata.httpStatusCode, 200);
      }
      // A copy does not carry the source's ACL: without headers it is private again.
      await s3.send(new CopyObjectCommand({ Bucket, Key: "public-copy", CopySource: `${Bucket}/public` }));
      assert.equal((await fetch(`${server.url}/${Bucket}/public-copy`)).status, 403);
    });

    it("replaces an object's ACL with PutObjectAcl (XML body or headers), per version", async () => {
      const b = "acl-versions";
      await s3.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: "ObjectWriter" }));
      await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: "Enabled" } }));
      const v1 = await s3.send(new PutObjectCommand({ Bucket: b, Key: "doc", Body: "one" }));
      await s3.send(new PutObjectCommand({ Bucket: b, Key: "doc", Body: "two" }));
      await rejectsWith(other.send(new GetObjectCommand({ Bucket: b, Key: "doc", VersionId: v1.VersionId })), "AccessDenied", 403);
      await s3.send(
        new PutObjectAclCommand({
          Bucket: b,
          Key: "doc",
          VersionId: v1.VersionId,
          AccessControlPolicy: {
            Owner: { ID: rootCanonical },
            Grants: [
              { Grantee: { Type: "CanonicalUser", ID: rootCanonical }, Permission: "FULL_CONTROL" },
              { Grantee: { Type: "CanonicalUser", ID: otherCanonical }, Permission: "READ" },
            ],
          },
        }),
      );
      const old = await other.send(new GetObjectCommand({ Bucket: b, Key: "doc", VersionId: v1.VersionId }));
      assert.equal(await old.Body!.transformToString(), "one");
      await rejectsWith(other.send(new GetObjectCommand({ Bucket: b, Key: "doc" })), "AccessDenied", 403);
      const latest = await s3.send(new GetObjectAclCommand({ Bucket: b, Key: "doc" }));
      assert.equal(latest.Grants?.length, 1);
      await s3.send(new PutObjectAclCommand({ Bucket: b, Key: "doc", ACL: "authenticated-read" }));
      assert.equal((await other.send(new GetObjectCommand({ Bucket: b, Key: "doc" }))).$metadata.httpStatusCode, 200);
      await s3.send(new PutObjectAclCommand({ Bucket: b, Key: "doc", ACL: "private" }));
      await rejectsWith(other.send(new GetObjectCommand({ Bucket: b, Key: "doc" })), "AccessDenied", 403);
    });

    it("answers bad ACL requests with S3's codes", async () => {
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "e", Body: "x", ACL: "public-read", GrantRead: `id="${otherCanonical}"` })), "InvalidRequest", 400);
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "e", Body: "x", ACL: "world-writable" as "private" })), "InvalidArgument", 400);
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "e", Body: "x", GrantRead: `id="${"0".repeat(64)}"` })), "InvalidArgument", 400);
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "e", Body: "x", GrantRead: 'uri="http://acs.amazonaws.com/groups/global/Nobody"' })), "InvalidArgument", 400);
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "e", Body: "x", GrantRead: 'emailAddress="someone@example.com"' })), "UnresolvableGrantByEmailAddress", 400);
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "e", Body: "x", GrantRead: "nonsense" })), "InvalidArgument", 400);
      await rejectsWith(s3.send(new PutObjectAclCommand({ Bucket, Key: "private" })), "MissingSecurityHeader", 400);
      await rejectsWith(
        s3.send(new PutObjectAclCommand({ Bucket, Key: "private", ACL: "private", AccessControlPolicy: { Owner: { ID: rootCanonical }, Grants: [] } })),
        "UnexpectedContent",
        400,
      );
      await rejectsWith(s3.send(new PutObjectAclCommand({ Bucket, Key: "missing", ACL: "private" })), "NoSuchKey", 404);
      const policy = (grant: string) =>
        `<AccessControlPolicy><Owner><ID>${rootCanonical}</ID></Owner><AccessControlList>${grant}</AccessControlList></AccessControlPolicy>`;
      for (const grant of [
        `<Grant><Grantee><ID>${rootCanonical}</ID></Grantee><Permission>EVERYTHING</Permission></Grant>`,
        "<Grant><Permission>READ</Permission></Grant>",
        `<Grant><Grantee><ID>${rootCanonical}</ID><URI>${ALL_USERS}</URI></Grantee><Permission>READ</Permission></Grant>`,
      ]) {
        const res = await raw("PUT", `/${Bucket}/private`, { acl: "" }, {}, policy(grant));
        assert.equal(res.status, 400);
        assert.equal(code(res.text), "MalformedACLError");
      }
      const wrongOwner = await raw("PUT", `/${Bucket}/private`, { acl: "" }, {}, policy("").replace(rootCanonical, otherCanonical));
      assert.equal(wrongOwner.status, 403);
      assert.equal(code(wrongOwner.text), "AccessDenied");
    });

    it("lets a policy Deny win over an ACL grant", async () => {
      const b = "acl-deny-wins";
      await s3.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: "ObjectWriter" }));
      await s3.send(new PutObjectCommand({ Bucket: b, Key: "public", Body: "x", ACL: "public-read" }));
      assert.equal((await other.send(new GetObjectCommand({ Bucket: b, Key: "public" }))).$metadata.httpStatusCode, 200);
      await s3.send(
        new PutBucketPolicyCommand({
          Bucket: b,
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Deny", Principal: { AWS: `arn:aws:iam::${OTHER_ID}:root` }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` }],
          }),
        }),
      );
      await rejectsWith(other.send(new GetObjectCommand({ Bucket: b, Key: "public" })), "AccessDenied", 403);
      assert.equal((await fetch(`${server.url}/${b}/public`)).status, 200, "the Deny names the other account only");
    });

    it("gives BucketOwnerPreferred objects written with bucket-owner-full-control to the bucket owner", async () => {
      const b = "acl-preferred";
      await s3.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: "BucketOwnerPreferred", GrantWrite: `id="${otherCanonical}"`, GrantFullControl: `id="${rootCanonical}"` }));
      await other.send(new PutObjectCommand({ Bucket: b, Key: "given", Body: "x", ACL: "bucket-owner-full-control" }));
      await other.send(new PutObjectCommand({ Bucket: b, Key: "kept", Body: "x" }));
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: b, FetchOwner: true }));
      assert.deepEqual(
        listed.Contents?.map((o) => [o.Key, o.Owner?.ID]),
        [
          ["given", rootCanonical],
          ["kept", otherCanonical],
        ],
      );
      // Nothing granted beyond the owner: the bucket owner's FULL_CONTROL is the owner's.
      const given = await s3.send(new GetObjectAclCommand({ Bucket: b, Key: "given" }));
      assert.equal(given.Grants?.length, 1);
    });

    it("shows an upload's future object owner as its Owner and the writer as its Initiator", async () => {
      const b = "acl-preferred-uploads";
      await s3.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: "BucketOwnerPreferred", GrantWrite: `id="${otherCanonical}"`, GrantFullControl: `id="${rootCanonical}"` }));
      const given = await other.send(new CreateMultipartUploadCommand({ Bucket: b, Key: "given", ACL: "bucket-owner-full-control" }));
      const kept = await other.send(new CreateMultipartUploadCommand({ Bucket: b, Key: "kept" }));
      const parts = await s3.send(new ListPartsCommand({ Bucket: b, Key: "given", UploadId: given.UploadId }));
      assert.deepEqual([parts.Owner?.ID, parts.Initiator?.ID], [rootCanonical, otherCanonical]);
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: b }));
      assert.deepEqual(
        uploads.Uploads?.map((u) => [u.Key, u.Owner?.ID, u.Initiator?.ID]),
        [
          ["given", rootCanonical, otherCanonical],
          ["kept", otherCanonical, otherCanonical],
        ],
      );
      for (const [Key, UploadId] of [["given", given.UploadId], ["kept", kept.UploadId]]) {
        await other.send(new AbortMultipartUploadCommand({ Bucket: b, Key, UploadId }));
      }
    });
  });

  it("works with boto3: ownership controls, put_object ACL, get_object_acl, put_bucket_acl grants, AccessControlListNotSupported", async () => {
    const out = await python(
      `
import sys, json, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
url, ak, sk, other = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=ak, aws_secret_access_key=sk, config=Config(s3={"addressing_style": "path"}))
def err(f):
    try:
        f()
    except ClientError as e:
        return [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
    return None
out = {}
s3.create_bucket(Bucket="boto-acl")
out["default"] = s3.get_bucket_ownership_controls(Bucket="boto-acl")["OwnershipControls"]["Rules"]
out["enforced"] = err(lambda: s3.put_object(Bucket="boto-acl", Key="k", Body=b"x", ACL="public-read"))
s3.put_bucket_ownership_controls(Bucket="boto-acl", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
out["writer"] = s3.get_bucket_ownership_controls(Bucket="boto-acl")["OwnershipControls"]["Rules"]
s3.put_object(Bucket="boto-acl", Key="k", Body=b"x", ACL="public-read")
acl = s3.get_object_acl(Bucket="boto-acl", Key="k")
out["object"] = [[g["Grantee"]["Type"], g["Grantee"].get("URI", g["Grantee"].get("ID")), g["Permission"]] for g in acl["Grants"]]
out["owner"] = acl["Owner"]["ID"]
s3.put_bucket_acl(Bucket="boto-acl", GrantRead='id="%s"' % other)
out["bucket"] = [[g["Grantee"]["Type"], g["Grantee"]["ID"], g["Permission"]] for g in s3.get_bucket_acl(Bucket="boto-acl")["Grants"]]
s3.delete_bucket_ownership_controls(Bucket="boto-acl")
out["deleted"] = err(lambda: s3.get_bucket_ownership_controls(Bucket="boto-acl"))
print(json.dumps(out))
`,
      server.url,
      TEST_ACCESS_KEY,
      TEST_SECRET_KEY,
      otherCanonical,
    );
    const got = JSON.parse(out);
    assert.deepEqual(got.default, [{ ObjectOwnership: "BucketOwnerEnforced" }]);
    assert.deepEqual(got.enforced, ["AccessControlListNotSupported", 400]);
    assert.deepEqual(got.writer, [{ ObjectOwnership: "ObjectWriter" }]);
    assert.deepEqual(got.object, [
      ["CanonicalUser", rootCanonical, "FULL_CONTROL"],
      ["Group", ALL_USERS, "READ"],
    ]);
    assert.equal(got.owner, rootCanonical);
    assert.deepEqual(got.bucket, [["CanonicalUser", otherCanonical, "READ"]]);
    assert.deepEqual(got.deleted, ["OwnershipControlsNotFoundError", 404]);
    // The bucket ACL grant works for the other account's signed request.
    const listed = await raw("GET", "/boto-acl", { "list-type": "2" }, {}, undefined, otherKeys);
    assert.equal(listed.status, 200);
  });

  it("reports ObjectOwner and the stored grants in ObjectAccessControlList in CSV, Parquet and ORC", async () => {
    const Source = "acl-inventory-src";
    const Dest = "acl-inventory-dest";
    const work = mkdtempSync(join(tmpdir(), "stocktake-acl-inventory-"));
    try {
      await s3.send(new CreateBucketCommand({ Bucket: Source, ObjectOwnership: "ObjectWriter", GrantWrite: `id="${otherCanonical}"`, GrantFullControl: `id="${rootCanonical}"` }));
      await s3.send(new CreateBucketCommand({ Bucket: Dest }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: Dest, Policy: reportDeliveryPolicy(Dest, { sourceAccount: server.root.accountId, sources: [Source] }) }));
      await s3.send(new PutObjectCommand({ Bucket: Source, Key: "a-root-private", Body: "1" }));
      await s3.send(new PutObjectCommand({ Bucket: Source, Key: "b-root-public", Body: "2", ACL: "public-read" }));
      await other.send(new PutObjectCommand({ Bucket: Source, Key: "c-other-private", Body: "3" }));
      await other.send(new PutObjectCommand({ Bucket: Source, Key: "d-other-granted", Body: "4", GrantRead: `uri="${AUTHENTICATED_USERS}"`, GrantFullControl: `id="${otherCanonical}", id="${rootCanonical}"` }));
      const expected: [string, string, unknown[]][] = [
        ["a-root-private", rootCanonical, [{ canonicalId: rootCanonical, type: "CanonicalUser", permission: "FULL_CONTROL" }]],
        [
          "b-root-public",
          rootCanonical,
          [
            { canonicalId: rootCanonical, type: "CanonicalUser", permission: "FULL_CONTROL" },
            { uri: ALL_USERS, type: "Group", permission: "READ" },
          ],
        ],
        ["c-other-private", otherCanonical, [{ canonicalId: otherCanonical, type: "CanonicalUser", permission: "FULL_CONTROL" }]],
        [
          "d-other-granted",
          otherCanonical,
          [
            { canonicalId: otherCanonical, type: "CanonicalUser", permission: "FULL_CONTROL" },
            { canonicalId: rootCanonical, type: "CanonicalUser", permission: "FULL_CONTROL" },
            { uri: AUTHENTICATED_USERS, type: "Group", permission: "READ" },
          ],
        ],
      ];

      const files: Record<string, string> = {};
      for (const format of ["CSV", "Parquet", "ORC"] as InventoryFormat[]) {
        const id = `acl-${format.toLowerCase()}`;
        await s3.send(
          new PutBucketInventoryConfigurationCommand({
            Bucket: Source,
            Id: id,
            InventoryConfiguration: {
              Id: id,
              IsEnabled: true,
              IncludedObjectVersions: "Current",
              Schedule: { Frequency: "Daily" },
              OptionalFields: ["ObjectOwner", "ObjectAccessControlList"],
              Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${Dest}`, Format: format } },
            },
          }),
        );
        const run = await runInventory(server, Source, id);
        assert.equal(run.status, "succeeded", run.error);
        const manifest = JSON.parse((await getObjectBytes(s3, Dest, run.manifestKey!)).toString()) as { files: { key: string }[] };
        assert.equal(manifest.files.length, 1);
        const path = join(work, `${id}.${format === "CSV" ? "csv" : format.toLowerCase()}`);
        const data = await getObjectBytes(s3, Dest, manifest.files[0]!.key);
        writeFileSync(path, format === "CSV" ? gunzipSync(data) : data);
        files[format] = path;
      }
      const read = JSON.parse(
        await python(
          `
import sys, json, csv, base64
import pyarrow.parquet as pq, pyarrow.orc as po
def decoded(rows):
    return [[r[0], r[1], json.loads(base64.b64decode(r[2])), r[3]] for r in rows]
out = {}
with open(sys.argv[1]) as f:
    out["CSV"] = decoded([row for row in csv.reader(f)])
for name, table in (("Parquet", pq.read_table(sys.argv[2])), ("ORC", po.read_table(sys.argv[3]))):
    cols = [table.column(n).to_pylist() for n in ("bucket", "key", "object_access_control_list", "object_owner")]
    out[name] = decoded([list(r) for r in zip(*cols)])
print(json.dumps(out))
`,
          files.CSV!,
          files.Parquet!,
          files.ORC!,
        ),
      ) as Record<string, [string, string, { version: string; status: string; grants: unknown[] }, string][]>;
      for (const format of ["CSV", "Parquet", "ORC"]) {
        const rows = read[format]!;
        assert.deepEqual(
          rows.map((r) => [r[1], r[3], r[2].grants]),
          expected,
          format,
        );
        for (const r of rows) {
          assert.equal(r[0], Source);
          assert.equal(r[2].version, "2022-11-10");
          assert.equal(r[2].status, "AVAILABLE");
        }
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
