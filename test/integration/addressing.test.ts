// Virtual-hosted addressing with the AWS SDK v3 (bucket.localhost), next to path-style. The test
// resolves *.localhost to 127.0.0.1 itself, as a user's resolver would.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "node:http";
import type { LookupFunction } from "node:net";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";

const loopback: LookupFunction = (_host, options, callback) => {
  if (typeof options === "object" && options.all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: "127.0.0.1", family: 4 }]);
  else callback(null, "127.0.0.1", 4);
};

describe("virtual-hosted addressing", () => {
  let server: TestServer;
  let vhost: S3Client;

  before(async () => {
    server = await startTestServer();
    vhost = new S3Client({
      endpoint: `http://localhost:${server.port}`,
      region: "us-east-1",
      forcePathStyle: false,
      credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, lookup: loopback } as never) }),
    });
  });
  after(async () => {
    vhost.destroy();
    await server.stop();
  });

  it("creates, writes, lists and reads through bucket.localhost host names", async () => {
    await vhost.send(new CreateBucketCommand({ Bucket: "vhost-bucket" }));
    await vhost.send(new PutObjectCommand({ Bucket: "vhost-bucket", Key: "a/b.txt", Body: "virtual" }));
    const listed = await vhost.send(new ListObjectsV2Command({ Bucket: "vhost-bucket" }));
    assert.deepEqual(listed.Contents?.map((c) => c.Key), ["a/b.txt"]);
    const viaPath = await server.client.send(new GetObjectCommand({ Bucket: "vhost-bucket", Key: "a/b.txt" }));
    assert.equal(await viaPath.Body!.transformToString(), "virtual");
  });
});
