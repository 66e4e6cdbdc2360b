// Bucket policies through the AWS SDK v3: a second account uses what it is granted and is denied
// the rest; anonymous access through a public policy; Deny over the owner; policy errors.
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
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
