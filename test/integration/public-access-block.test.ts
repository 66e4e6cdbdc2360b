// Block Public Access through the AWS SDK v3 (default settings): Put/Get/DeletePublicAccessBlock
// and the 404 without one, then each setting's effect as S3 applies it: BlockPublicPolicy refuses
// public bucket policies, BlockPublicAcls public ACLs on writes and Put*Acl, IgnorePublicAcls
// voids public grants in authorization (and Get*Acl), RestrictPublicBuckets voids what a public
// policy grants anyone but the owner. ACL cases use ObjectWriter buckets (ACLs enabled).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetBucketPolicyCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type PublicAccessBlockConfiguration,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { canonicalIdFor, createAccount, loadSealingKey } from "../../src/auth/accounts.js";

const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const OTHER_ID = "444455556666";
const NONE: PublicAccessBlockConfiguration = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false };

describe("Block Public Access", () => {
  let server: TestServer;
  let s3: S3Client;
  let other: S3Client;
  let rootCanonical: string;
  const otherCanonical = canonicalIdFor(OTHER_ID);

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), { accountId: OTHER_ID }, new Date());
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
    rootCanonical = (await server.context.metadata.getAccount(server.root.accountId))!.canonicalId;
  });
  after(async () => {
    other.destroy();
    await server.stop();
  });

  const block = (Bucket: string, settings: PublicAccessBlockConfiguration) =>
    s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { ...NONE, ...settings } }));
  const anonymous = (path: string) => fetch(`${server.url}/${path}`);
  const statement = (Bucket: string, extra: Record<string, unknown>) => ({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${Bucket}/*`, ...extra });
  const policy = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });

  /** A bucket with ACLs enabled, as S3 buckets were before April 2023. */
  async function writerBucket(Bucket: string): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: [{ ObjectOwnership: "ObjectWriter" }] } }));
  }

  describe("the configuration", () => {
    const Bucket = "pab-config";
    before(async () => {
      await s3.send(new CreateBucketCommand({ Bucket }));
    });

    it("answers 404 NoSuchPublicAccessBlockConfiguration for a bucket without one", async () => {
      await rejectsWith(s3.send(new GetPublicAccessBlockCommand({ Bucket })), "NoSuchPublicAccessBlockConfiguration", 404);
    });

    it("stores, returns and deletes the four settings (204), then answers 404 again", async () => {
      const settings = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: false };
      const put = await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: settings }));
      assert.equal(put.$metadata.httpStatusCode, 200);
      const got = await s3.send(new GetPublicAccessBlockCommand({ Bucket }));
      assert.deepEqual(got.PublicAccessBlockConfiguration, settings);
      const deleted = await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
      assert.equal(deleted.$metadata.httpStatusCode, 204);
      await rejectsWith(s3.send(new GetPublicAccessBlockCommand({ Bucket })), "NoSuchPublicAccessBlockConfiguration", 404);
      assert.equal((await s3.send(new DeletePublicAccessBlockCommand({ Bucket }))).$metadata.httpStatusCode, 204);
    });

    it("takes the settings a configuration leaves out as false, and replaces the whole configuration", async () => {
      await block(Bucket, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
      await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { RestrictPublicBuckets: true } }));
      const got = await s3.send(new GetPublicAccessBlockCommand({ Bucket }));
      assert.deepEqual(got.PublicAccessBlockConfiguration, { ...NONE, RestrictPublicBuckets: true });
      await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
    });

    it("is authorized as s3:GetBucketPublicAccessBlock / s3:PutBucketPublicAccessBlock: a policy Deny refuses even the owner", async () => {
      const B = "pab-denied";
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await block(B, { BlockPublicAcls: true });
      await rejectsWith(other.send(new GetPublicAccessBlockCommand({ Bucket: B })), "AccessDenied", 403);
      await rejectsWith(other.send(new DeletePublicAccessBlockCommand({ Bucket: B })), "AccessDenied", 403);
      const denyGet = { Effect: "Deny", Principal: "*", Action: "s3:GetBucketPublicAccessBlock", Resource: `arn:aws:s3:::${B}` };
      await s3.send(new PutBucketPolicyCommand({ Bucket: B, Policy: policy(denyGet) }));
      await rejectsWith(s3.send(new GetPublicAccessBlockCommand({ Bucket: B })), "AccessDenied", 403);
      // Deleting is s3:PutBucketPublicAccessBlock, which the policy does not deny.
      await s3.send(new DeletePublicAccessBlockCommand({ Bucket: B }));
    });
  });

  describe("BlockPublicPolicy", () => {
    const Bucket = "pab-policy";
    before(async () => {
      await s3.send(new CreateBucketCommand({ Bucket }));
    });

    it("refuses a public bucket policy with 403 AccessDenied and keeps the policy already stored", async () => {
      const kept = policy(statement(Bucket, { Principal: { AWS: OTHER_ID } }));
      await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: kept }));
      await block(Bucket, { BlockPublicPolicy: true });
      await rejectsWith(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(statement(Bucket, {})) })), "AccessDenied", 403);
      await rejectsWith(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(statement(Bucket, { Principal: { AWS: "*" } })) })), "AccessDenied", 403);
      // One public statement among fixed ones makes the whole policy public.
      await rejectsWith(
        s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(statement(Bucket, { Principal: { AWS: OTHER_ID } }), statement(Bucket, { Action: "s3:ListBucket", Resource: `arn:aws:s3:::${Bucket}` })) })),
        "AccessDenied",
        403,
      );
      // A condition that holds anyone who lacks the key (IfExists) or a range wider than /8 limits nothing.
      const ifExists = statement(Bucket, { Condition: { StringEqualsIfExists: { "aws:SourceAccount": OTHER_ID } } });
      await rejectsWith(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(ifExists) })), "AccessDenied", 403);
      const wide = statement(Bucket, { Condition: { IpAddress: { "aws:SourceIp": "0.0.0.0/1" } } });
      await rejectsWith(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(wide) })), "AccessDenied", 403);
      assert.deepEqual(JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy!), JSON.parse(kept));
    });

    it("accepts policies held to fixed principals or fixed condition values", async () => {
      await block(Bucket, { BlockPublicPolicy: true });
      const fixed = [
        statement(Bucket, { Principal: { AWS: `arn:aws:iam::${OTHER_ID}:root` } }),
        statement(Bucket, { Principal: { Service: "s3.amazonaws.com" } }),
        statement(Bucket, { Condition: { IpAddress: { "aws:SourceIp": "198.51.100.0/24" } } }),
        statement(Bucket, { Principal: { AWS: "*" }, Condition: { StringEquals: { "aws:PrincipalAccount": OTHER_ID } } }),
        statement(Bucket, { Condition: { StringEquals: { "aws:SourceVpc": "vpc-91237329" } } }),
        { ...statement(Bucket, {}), Effect: "Deny" },
      ];
      for (const s of fixed) await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(s) }));
    });

    it("answers MalformedPolicy before looking at whether the policy is public", async () => {
      await block(Bucket, { BlockPublicPolicy: true });
      await rejectsWith(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(statement(Bucket, { Action: "s3:FlyAway" })) })), "MalformedPolicy", 400);
    });

    it("accepts a public policy once the setting is off or the configuration deleted", async () => {
      await block(Bucket, { BlockPublicAcls: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(statement(Bucket, {})) }));
      await block(Bucket, { BlockPublicPolicy: true });
      await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
      await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(statement(Bucket, { Action: "s3:GetObjectVersion" })) }));
    });
  });

  describe("BlockPublicAcls", () => {
    const Bucket = "pab-acls";
    before(async () => {
      await writerBucket(Bucket);
      await s3.send(new PutObjectCommand({ Bucket, Key: "existing", Body: "x" }));
      await block(Bucket, { BlockPublicAcls: true });
    });

    it("refuses PutBucketAcl with a public canned ACL, grant header or document (403 AccessDenied)", async () => {
      for (const ACL of ["public-read", "public-read-write", "authenticated-read"] as const) {
        await rejectsWith(s3.send(new PutBucketAclCommand({ Bucket, ACL })), "AccessDenied", 403);
      }
      await rejectsWith(s3.send(new PutBucketAclCommand({ Bucket, GrantRead: `uri="${ALL_USERS}"` })), "AccessDenied", 403);
      const publicDocument = {
        Owner: { ID: rootCanonical },
        Grants: [
          { Grantee: { Type: "CanonicalUser" as const, ID: rootCanonical }, Permission: "FULL_CONTROL" as const },
          { Grantee: { Type: "Group" as const, URI: AUTHENTICATED_USERS }, Permission: "READ_ACP" as const },
        ],
      };
      await rejectsWith(s3.send(new PutBucketAclCommand({ Bucket, AccessControlPolicy: publicDocument })), "AccessDenied", 403);
      const acl = await s3.send(new GetBucketAclCommand({ Bucket }));
      assert.deepEqual(acl.Grants?.map((g) => g.Grantee?.URI ?? g.Grantee?.ID), [rootCanonical]);
    });

    it("accepts ACLs that grant the public nothing", async () => {
      await s3.send(new PutBucketAclCommand({ Bucket, ACL: "private" }));
      await s3.send(new PutBucketAclCommand({ Bucket, GrantRead: `id="${otherCanonical}"`, GrantFullControl: `id="${rootCanonical}"` }));
      await s3.send(new PutObjectCommand({ Bucket, Key: "private", Body: "x", ACL: "private" }));
      await s3.send(new PutObjectCommand({ Bucket, Key: "for-other", Body: "x", GrantRead: `id="${otherCanonical}"` }));
      await s3.send(new PutObjectAclCommand({ Bucket, Key: "existing", ACL: "bucket-owner-read" }));
    });

    it("refuses PutObject, CopyObject and CreateMultipartUpload with a public ACL, and stores nothing", async () => {
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "refused", Body: "x", ACL: "public-read" })), "AccessDenied", 403);
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "refused", Body: "x", ACL: "public-read-write" })), "AccessDenied", 403);
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket, Key: "refused", Body: "x", GrantRead: `uri="${AUTHENTICATED_USERS}"` })), "AccessDenied", 403);
      await rejectsWith(s3.send(new CopyObjectCommand({ Bucket, Key: "refused", CopySource: `${Bucket}/existing`, ACL: "public-read" })), "AccessDenied", 403);
      await rejectsWith(s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "refused", ACL: "authenticated-read" })), "AccessDenied", 403);
      await rejectsWith(s3.send(new HeadObjectCommand({ Bucket, Key: "refused" })), undefined, 404);
    });

    it("refuses PutObjectAcl with a public ACL and leaves the object's ACL as it was", async () => {
      await rejectsWith(s3.send(new PutObjectAclCommand({ Bucket, Key: "existing", ACL: "public-read" })), "AccessDenied", 403);
      await rejectsWith(s3.send(new PutObjectAclCommand({ Bucket, Key: "existing", GrantReadACP: `uri="${ALL_USERS}"` })), "AccessDenied", 403);
      const acl = await s3.send(new GetObjectAclCommand({ Bucket, Key: "existing" }));
      assert.ok(!acl.Grants?.some((g) => g.Grantee?.Type === "Group"));
    });

    it("leaves public ACLs set before it in force (that is IgnorePublicAcls' job)", async () => {
      const B = "pab-acls-earlier";
      await writerBucket(B);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "public", Body: "still public", ACL: "public-read" }));
      await block(B, { BlockPublicAcls: true });
      assert.equal((await anonymous(`${B}/public`)).status, 200);
    });

    it("answers AccessControlListNotSupported first while ACLs are disabled (BucketOwnerEnforced)", async () => {
      const B = "pab-acls-enforced";
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "x" }));
      await block(B, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
      await rejectsWith(s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "x", ACL: "public-read" })), "AccessControlListNotSupported", 400);
      await rejectsWith(s3.send(new PutBucketAclCommand({ Bucket: B, ACL: "public-read" })), "AccessControlListNotSupported", 400);
      await rejectsWith(s3.send(new PutObjectAclCommand({ Bucket: B, Key: "k", ACL: "authenticated-read" })), "AccessControlListNotSupported", 400);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "x", ACL: "bucket-owner-full-control" }));
    });
  });

  describe("IgnorePublicAcls", () => {
    const Bucket = "pab-ignore";
    before(async () => {
      await writerBucket(Bucket);
      await s3.send(new PutBucketAclCommand({ Bucket, ACL: "public-read" }));
      await s3.send(new PutObjectCommand({ Bucket, Key: "public", Body: "for everyone", ACL: "public-read" }));
      await s3.send(new PutObjectCommand({ Bucket, Key: "signed", Body: "for any account", ACL: "authenticated-read" }));
      await s3.send(new PutObjectCommand({ Bucket, Key: "named", Body: "for the other account", GrantRead: `id="${otherCanonical}"` }));
    });

    it("serves public grants before it is set", async () => {
      assert.equal((await anonymous(`${Bucket}/public`)).status, 200);
      assert.equal((await anonymous(`${Bucket}?list-type=2`)).status, 200);
      assert.equal(await (await other.send(new GetObjectCommand({ Bucket, Key: "signed" }))).Body!.transformToString(), "for any account");
    });

    it("ignores AllUsers and AuthenticatedUsers grants of the bucket and its objects while set", async () => {
      await block(Bucket, { IgnorePublicAcls: true });
      assert.equal((await anonymous(`${Bucket}/public`)).status, 403);
      assert.equal((await anonymous(`${Bucket}?list-type=2`)).status, 403);
      await rejectsWith(other.send(new GetObjectCommand({ Bucket, Key: "signed" })), "AccessDenied", 403);
      await rejectsWith(other.send(new ListObjectsV2Command({ Bucket })), "AccessDenied", 403);
    });

    it("keeps grants to named accounts", async () => {
      await block(Bucket, { IgnorePublicAcls: true });
      assert.equal(await (await other.send(new GetObjectCommand({ Bucket, Key: "named" }))).Body!.transformToString(), "for the other account");
    });

    it("answers Get*Acl with the grants in force, public ones left out", async () => {
      await block(Bucket, { IgnorePublicAcls: true });
      const objectAcl = await s3.send(new GetObjectAclCommand({ Bucket, Key: "public" }));
      assert.deepEqual(objectAcl.Grants?.map((g) => [g.Grantee?.ID ?? g.Grantee?.URI, g.Permission]), [[rootCanonical, "FULL_CONTROL"]]);
      const bucketAcl = await s3.send(new GetBucketAclCommand({ Bucket }));
      assert.deepEqual(bucketAcl.Grants?.map((g) => [g.Grantee?.ID ?? g.Grantee?.URI, g.Permission]), [[rootCanonical, "FULL_CONTROL"]]);
    });

    it("still accepts new public ACLs, and they apply again once the setting goes", async () => {
      await block(Bucket, { IgnorePublicAcls: true });
      await s3.send(new PutObjectCommand({ Bucket, Key: "later", Body: "public later", ACL: "public-read" }));
      assert.equal((await anonymous(`${Bucket}/later`)).status, 403);
      await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
      assert.equal((await anonymous(`${Bucket}/later`)).status, 200);
      assert.equal((await anonymous(`${Bucket}/public`)).status, 200);
      const objectAcl = await s3.send(new GetObjectAclCommand({ Bucket, Key: "public" }));
      assert.deepEqual(objectAcl.Grants?.[1], { Grantee: { Type: "Group", URI: ALL_USERS }, Permission: "READ" });
    });
  });

  describe("RestrictPublicBuckets", () => {
    const Bucket = "pab-restrict";
    const toOther = (B: string) => ({ Effect: "Allow", Principal: { AWS: OTHER_ID }, Action: "s3:ListBucket", Resource: `arn:aws:s3:::${B}` });
    before(async () => {
      await s3.send(new CreateBucketCommand({ Bucket }));
      await s3.send(new PutObjectCommand({ Bucket, Key: "foo", Body: "bar" }));
      await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(statement(Bucket, {}), toOther(Bucket)) }));
    });

    it("lets anonymous callers and the named account in through the public policy before it is set", async () => {
      await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
      assert.equal(await (await anonymous(`${Bucket}/foo`)).text(), "bar");
      await other.send(new ListObjectsV2Command({ Bucket }));
    });

    it("refuses anonymous callers and other accounts, even ones a statement names, while the policy is public", async () => {
      await block(Bucket, { RestrictPublicBuckets: true });
      assert.equal((await anonymous(`${Bucket}/foo`)).status, 403);
      await rejectsWith(other.send(new GetObjectCommand({ Bucket, Key: "foo" })), "AccessDenied", 403);
      await rejectsWith(other.send(new ListObjectsV2Command({ Bucket })), "AccessDenied", 403);
    });

    it("still serves the bucket owner", async () => {
      await block(Bucket, { RestrictPublicBuckets: true });
      assert.equal(await (await s3.send(new GetObjectCommand({ Bucket, Key: "foo" }))).Body!.transformToString(), "bar");
    });

    it("leaves a policy that is not public in force", async () => {
      const B = "pab-restrict-fixed";
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: B, Policy: policy(toOther(B)) }));
      await block(B, { RestrictPublicBuckets: true, BlockPublicPolicy: true });
      await other.send(new ListObjectsV2Command({ Bucket: B }));
    });

    it("gives access back when the setting is turned off", async () => {
      await block(Bucket, { RestrictPublicBuckets: true });
      assert.equal((await anonymous(`${Bucket}/foo`)).status, 403);
      await block(Bucket, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true });
      assert.equal((await anonymous(`${Bucket}/foo`)).status, 200);
      await other.send(new ListObjectsV2Command({ Bucket }));
    });
  });
});
