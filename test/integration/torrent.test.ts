// GetObjectTorrent through the AWS SDK v3: a metainfo file whose piece hashes match the object,
// with the object's URL as a web seed, and S3's refusals (SSE-C objects, missing keys).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { CreateBucketCommand, GetObjectTorrentCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { rejectsWith } from "../helpers/errors.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Decoded = number | Buffer | Decoded[] | Map<string, Decoded>;

/** BEP 3 decoding, enough to read a metainfo file back. */
function bdecode(bytes: Buffer): Decoded {
  let at = 0;
  const next = (): Decoded => {
    const c = String.fromCharCode(bytes[at]!);
    if (c === "i") {
      const end = bytes.indexOf("e", at);
      const n = Number(bytes.subarray(at + 1, end).toString());
      at = end + 1;
      return n;
    }
    if (c === "l" || c === "d") {
      at++;
      const items: Decoded[] = [];
      while (String.fromCharCode(bytes[at]!) !== "e") items.push(next());
      at++;
      if (c === "l") return items;
      const dict = new Map<string, Decoded>();
      for (let i = 0; i < items.length; i += 2) dict.set((items[i] as Buffer).toString("utf8"), items[i + 1]!);
      return dict;
    }
    const colon = bytes.indexOf(":", at);
    const length = Number(bytes.subarray(at, colon).toString());
    at = colon + 1 + length;
    return bytes.subarray(colon + 1, at);
  };
  return next();
}

describe("GetObjectTorrent", () => {
  let server: TestServer;
  const Bucket = "torrents";
  before(async () => {
    server = await startTestServer();
    await server.client.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    await server.stop();
  });

  it("answers a metainfo file whose pieces are the SHA-1s of the object's 256 KiB pieces, seeded from the object's URL", async () => {
    const body = randomBytes(600 * 1024);
    await server.client.send(new PutObjectCommand({ Bucket, Key: "films/Avatar.mpg", Body: body }));
    const out = await server.client.send(new GetObjectTorrentCommand({ Bucket, Key: "films/Avatar.mpg" }));
    const metainfo = bdecode(Buffer.from(await out.Body!.transformToByteArray())) as Map<string, Decoded>;
    const info = metainfo.get("info") as Map<string, Decoded>;
    assert.equal(info.get("length"), body.length);
    assert.equal((info.get("name") as Buffer).toString(), "Avatar.mpg");
    assert.equal(info.get("piece length"), 256 * 1024);
    const sha1 = (b: Buffer) => createHash("sha1").update(b).digest();
    const expected = Buffer.concat([0, 1, 2].map((i) => sha1(body.subarray(i * 256 * 1024, (i + 1) * 256 * 1024))));
    assert.deepEqual(info.get("pieces"), expected);
    const seeds = (metainfo.get("url-list") as Buffer[]).map((b) => b.toString());
    assert.deepEqual(seeds, [`${server.url}/${Bucket}/films/Avatar.mpg`]);
  });

  it("refuses objects encrypted with a customer key, and answers NoSuchKey for a missing one", async () => {
    const SSECustomerKey = randomBytes(32).toString("base64");
    await server.client.send(new PutObjectCommand({ Bucket, Key: "secret", Body: "x", SSECustomerAlgorithm: "AES256", SSECustomerKey }));
    await rejectsWith(server.client.send(new GetObjectTorrentCommand({ Bucket, Key: "secret" })), "InvalidRequest", 400);
    await rejectsWith(server.client.send(new GetObjectTorrentCommand({ Bucket, Key: "missing" })), "NoSuchKey", 404);
  });
});
