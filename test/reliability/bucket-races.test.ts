// Writes in flight when their bucket is deleted: account A starts a PutObject, a PutBucketPolicy and
// an UploadPart on its bucket and holds their bodies open, deletes the bucket, account B creates a
// bucket of the same name, then A finishes the bodies. Each write must fail with NoSuchBucket and
// leave B's bucket, the store and the blob directory untouched.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, DeleteBucketCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";
import { ManualClock } from "../../src/clock.js";
import { listRunsPage, startRun } from "../../src/inventory/run.js";
import { startTestServer } from "../helpers/server.js";
import { dailyCsvInventory } from "../helpers/inventory.js";
import { createBucket, errorCode, sendRaw, sendSigned, signedHead, startFuzzServer, type FuzzServer } from "./fuzz-helpers.js";

/** A request whose head and first body bytes are sent now and whose rest is sent by finish(). */
function heldRequest(port: number, head: string, first: Buffer): { finish(rest: Buffer): Promise<{ status: number; body: string }> } {
  const socket: Socket = connect(port, "127.0.0.1");
  const received: Buffer[] = [];
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("data", (d: Buffer) => received.push(d));
  socket.on("error", () => undefined);
  socket.write(Buffer.from(head, "latin1"));
  socket.write(first);
  return {
    async finish(rest) {
      socket.write(rest);
      await closed;
      const text = Buffer.concat(received).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
    },
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("writes racing DeleteBucket", () => {
  let s: FuzzServer;
  let b: { accessKeyId: string; secretAccessKey: string; accountId: string };
  const X = "race-bucket";

  before(async () => {
    s = await startFuzzServer();
    const creds = await createAccount(s.server.context.metadata, loadSealingKey(s.server.dataDir), {}, new Date());
    b = { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, accountId: creds.accountId };
  });
  after(async () => {
    await s.assertAlive();
    s.assertNoInternalErrors();
    await s.server.stop();
  });

  it("refuses a PutObject, a PutBucketPolicy and an UploadPart that began before the bucket was deleted and recreated by another account", async () => {
    const port = s.port;
    await createBucket(port, X);
    const objectBody = Buffer.alloc(200 * 1024, 7); // above the inline threshold: the body goes to a blob file
    const policy = Buffer.from(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${X}/*` }],
      }),
    );
    const create = await sendSigned(port, { method: "POST", rawPath: `/${X}/mp`, rawQuery: "uploads" });
    assert.equal(create.status, 200, create.body);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(create.body)![1]!;
    const partBody = Buffer.alloc(100 * 1024, 3);

    const half = (buf: Buffer) => [buf.subarray(0, buf.length >> 1), buf.subarray(buf.length >> 1)] as const;
    const [obj1, obj2] = half(objectBody);
    const [pol1, pol2] = half(policy);
    const [part1, part2] = half(partBody);
    const put = heldRequest(port, signedHead(port, { method: "PUT", rawPath: `/${X}/from-a`, headers: { "content-length": String(objectBody.length) } }).head, obj1);
    const putPolicy = heldRequest(port, signedHead(port, { method: "PUT", rawPath: `/${X}`, rawQuery: "policy", headers: { "content-length": String(policy.length) } }).head, pol1);
    const uploadPart = heldRequest(
      port,
      signedHead(port, { method: "PUT", rawPath: `/${X}/mp`, rawQuery: `partNumber=1&uploadId=${encodeURIComponent(uploadId)}`, headers: { "content-length": String(partBody.length) } }).head,
      part1,
    );
    // Let the three requests get past authorization and into their bodies.
    await new Promise((r) => setTimeout(r, 200));

    const deleted = await sendRaw(port, signedHead(port, { method: "DELETE", rawPath: `/${X}` }).head);
    assert.equal(deleted.status, 204, deleted.body);
    await createBucket(port, X, b);

    const answers = await Promise.all([put.finish(obj2), putPolicy.finish(pol2), uploadPart.finish(part2)]);
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.status, 404, `request ${i}: ${answer.body}`);
      assert.equal(errorCode(answer.body), "NoSuchBucket", `request ${i}: ${answer.body}`);
    }

    const asB = { accessKeyId: b.accessKeyId, secretAccessKey: b.secretAccessKey };
    const listing = await sendRaw(port, signedHead(port, { method: "GET", rawPath: `/${X}`, rawQuery: "list-type=2", ...asB }).head);
    assert.equal(listing.status, 200, listing.body);
    assert.ok(!listing.body.includes("<Contents>"), `B's new bucket lists A's object: ${listing.body}`);
    const bPolicy = await sendRaw(port, signedHead(port, { method: "GET", rawPath: `/${X}`, rawQuery: "policy", ...asB }).head);
    assert.equal(errorCode(bPolicy.body), "NoSuchBucketPolicy", `B's new bucket carries A's policy: ${bPolicy.body}`);
    const uploads = await sendRaw(port, signedHead(port, { method: "GET", rawPath: `/${X}`, rawQuery: "uploads", ...asB }).head);
    assert.ok(!uploads.body.includes("<Upload>"), uploads.body);

    // Nothing of A's writes stays referenced: no part row, and (once released) no blob file.
    assert.deepEqual(await s.server.context.metadata.listParts(uploadId, 0, 10), []);
    const deadline = Date.now() + 5_000;
    while (filesUnder(join(s.server.dataDir, "blobs")).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(filesUnder(join(s.server.dataDir, "blobs")), []);
  });
});

describe("an inventory run outliving its source bucket", () => {
  it("publishes nothing of a newer bucket of the same name and leaves no run record in it", async () => {
    const clock = new ManualClock(new Date("2026-06-01T10:15:20Z"));
    const server = await startTestServer({ clock, maxClockSkewMs: 365 * 86_400_000 });
    try {
      const a = server.client;
      const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
      const b = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
      await dailyCsvInventory(a, "outlived-src", "outlived-dest");
      // A first report takes this minute, so the second run waits (on the manual clock) for the next.
      const source = (await server.context.metadata.getBucket("outlived-src"))!;
      const first = await startRun(server.context, source, "daily", "on-demand");
      assert.equal((await first.finished).status, "succeeded");
      const second = await startRun(server.context, source, "daily", "on-demand");

      // Meanwhile A deletes the bucket and B makes one of the same name, with an object of its own.
      await a.send(new DeleteBucketCommand({ Bucket: "outlived-src" }));
      await b.send(new CreateBucketCommand({ Bucket: "outlived-src" }));
      await b.send(new PutObjectCommand({ Bucket: "outlived-src", Key: "b-private", Body: "b" }));
      clock.advance(60_000);

      const outcome = await second.finished;
      assert.equal(outcome.status, "failed");
      const reports = await a.send(new ListObjectsV2Command({ Bucket: "outlived-dest" }));
      assert.equal(reports.Contents?.filter((o) => o.Key!.endsWith("manifest.json")).length, 1, "only the first report was published");
      assert.deepEqual((await listRunsPage(server.context, "outlived-src", { max: 1000 })).runs, [], "no run record of A's in B's bucket");
    } finally {
      await server.stop();
    }
  });
});
