// Requester Pays through the AWS SDK v3: the Payer is stored and reported (BucketOwner until set),
// only for the bucket owner, and refused when it is neither BucketOwner nor Requester.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  GetBucketRequestPaymentCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutBucketRequestPaymentCommand,
  PutObjectCommand,
  type Payer,
  type S3Client,
} from "@aws-sdk/client-s3";
import { rejectsWith } from "../helpers/errors.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";

describe("request payment", () => {
  let server: TestServer;
  let s3: S3Client;
  let other: S3Client;
  const Bucket = "payer-bucket";
  const put = (Payer: string, client = s3) => client.send(new PutBucketRequestPaymentCommand({ Bucket, RequestPaymentConfiguration: { Payer: Payer as Payer } }));
  const payer = async (client = s3) => (await client.send(new GetBucketRequestPaymentCommand({ Bucket }))).Payer;

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
    await s3.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    other.destroy();
    await server.stop();
  });

  it("reports BucketOwner until Requester is set, and BucketOwner again once set back", async () => {
    assert.equal(await payer(), "BucketOwner");
    await put("Requester");
    assert.equal(await payer(), "Requester");
    await put("BucketOwner");
    assert.equal(await payer(), "BucketOwner");
  });

  it("refuses a Payer S3 does not know", async () => {
    await rejectsWith(put("Anyone"), "MalformedXML", 400);
  });

  it("is the bucket owner's alone to read or set, whatever the bucket policy grants", async () => {
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: "*", Action: ["s3:PutBucketRequestPayment", "s3:GetBucketRequestPayment"], Resource: `arn:aws:s3:::${Bucket}` }],
        }),
      }),
    );
    await rejectsWith(put("Requester", other), "AccessDenied", 403);
    await rejectsWith(payer(other), "AccessDenied", 403);
  });

  it("changes nothing else: Stocktake bills no one, so no x-amz-request-payer is asked for", async () => {
    await put("Requester");
    await s3.send(new PutObjectCommand({ Bucket, Key: "k", Body: "v" }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket,
        Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${Bucket}/*` }] }),
      }),
    );
    assert.equal(await (await other.send(new GetObjectCommand({ Bucket, Key: "k" }))).Body!.transformToString(), "v");
  });
});
