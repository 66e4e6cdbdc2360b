// ListObjects v1 and v2 through the AWS SDK v3: order, prefixes, delimiters, pagination, encoding.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../helpers/server.js";

const KEYS = [
  "a.txt",
  "photos/2024/jan/1.jpg",
  "photos/2024/jan/2.jpg",
  "photos/2024/feb/1.jpg",
  "photos/2025/mar/1.jpg",
  "photos/readme",
  "z-last",
  "ü-non-ascii",
  "\u{1F600}-emoji",
  "\uFFFD-replacement",
  "with space",
  "with+plus",
];

/** S3 orders keys by their UTF-8 bytes. */
const utf8Sorted = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe("listing", () => {
  let server: TestServer;
  const Bucket = "listing-bucket";

  before(async () => {
    server = await startTestServer();
    await server.client.send(new CreateBucketCommand({ Bucket }));
    await Promise.all(KEYS.map((Key) => server.client.send(new PutObjectCommand({ Bucket, Key, Body: Key }))));
  });
  after(async () => {
    await server.stop();
  });

  it("lists every key in UTF-8 byte order with sizes and ETags", async () => {
    const res = await server.client.send(new ListObjectsV2Command({ Bucket }));
    assert.deepEqual(res.Contents?.map((c) => c.Key), utf8Sorted(KEYS));
    assert.equal(res.KeyCount, KEYS.length);
    assert.equal(res.IsTruncated, false);
    const first = res.Contents![0]!;
    assert.equal(first.Size, Buffer.byteLength(first.Key!));
    assert.match(first.ETag!, /^"[0-9a-f]{32}"$/);
    assert.equal(first.StorageClass, "STANDARD");
  });

  it("folds keys into CommonPrefixes with a delimiter", async () => {
    const top = await server.client.send(new ListObjectsV2Command({ Bucket, Delimiter: "/" }));
    assert.deepEqual(top.CommonPrefixes?.map((p) => p.Prefix), ["photos/"]);
    assert.ok(!top.Contents?.some((c) => c.Key!.startsWith("photos/")));
    const year = await server.client.send(new ListObjectsV2Command({ Bucket, Delimiter: "/", Prefix: "photos/2024/" }));
    assert.deepEqual(year.CommonPrefixes?.map((p) => p.Prefix), ["photos/2024/feb/", "photos/2024/jan/"]);
    assert.equal(year.Contents, undefined);
  });

  it("pages with max-keys and continuation tokens, counting prefixes as entries", async () => {
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2({ client: server.client, pageSize: 2 }, { Bucket, Delimiter: "/" })) {
      pages++;
      for (const c of page.Contents ?? []) seen.push(c.Key!);
      for (const p of page.CommonPrefixes ?? []) seen.push(p.Prefix!);
      assert.ok((page.KeyCount ?? 0) <= 2);
    }
    const expected = utf8Sorted([...KEYS.filter((k) => !k.startsWith("photos/")), "photos/"]);
    assert.deepEqual(seen, expected);
    assert.equal(pages, Math.ceil(expected.length / 2));
  });

  it("starts after a given key and answers max-keys=0 with an empty page", async () => {
    const res = await server.client.send(new ListObjectsV2Command({ Bucket, StartAfter: "photos/readme" }));
    assert.deepEqual(res.Contents?.map((c) => c.Key), utf8Sorted(KEYS).filter((k) => Buffer.compare(Buffer.from(k), Buffer.from("photos/readme")) > 0));
    const none = await server.client.send(new ListObjectsV2Command({ Bucket, MaxKeys: 0 }));
    assert.equal(none.KeyCount, 0);
    assert.equal(none.IsTruncated, false);
  });

  it("url-encodes keys when asked to", async () => {
    const res = await server.client.send(new ListObjectsV2Command({ Bucket, EncodingType: "url", Prefix: "with" }));
    assert.deepEqual(res.Contents?.map((c) => c.Key), ["with%20space", "with%2Bplus"]);
  });

  it("returns the owner when fetch-owner is set", async () => {
    const res = await server.client.send(new ListObjectsV2Command({ Bucket, FetchOwner: true, MaxKeys: 1 }));
    assert.match(res.Contents?.[0]?.Owner?.ID ?? "", /^[0-9a-f]{64}$/);
  });

  it("lists with v1 markers and NextMarker when a delimiter is used", async () => {
    const page1 = await server.client.send(new ListObjectsCommand({ Bucket, MaxKeys: 3, Delimiter: "/" }));
    assert.equal(page1.IsTruncated, true);
    assert.ok(page1.NextMarker);
    const page2 = await server.client.send(new ListObjectsCommand({ Bucket, Marker: page1.NextMarker, Delimiter: "/" }));
    const all = [...(page1.Contents ?? []).map((c) => c.Key!), ...(page1.CommonPrefixes ?? []).map((p) => p.Prefix!)];
    const rest = [...(page2.Contents ?? []).map((c) => c.Key!), ...(page2.CommonPrefixes ?? []).map((p) => p.Prefix!)];
    assert.equal(new Set([...all, ...rest]).size, all.length + rest.length, "no entry repeats across pages");
    assert.equal(all.length + rest.length, KEYS.filter((k) => !k.startsWith("photos/")).length + 1);
  });

  it("answers InvalidArgument for a bad max-keys or continuation token", async () => {
    await assert.rejects(server.client.send(new ListObjectsV2Command({ Bucket, ContinuationToken: "garbage" })), (err: unknown) => {
      assert.ok(err instanceof S3ServiceException);
      assert.equal(err.name, "InvalidArgument");
      return true;
    });
    const res = await fetch(`${server.url}/${Bucket}?list-type=2&max-keys=-1`);
    assert.equal(res.status, 403, "anonymous listing is refused before arguments are read");
  });
});
