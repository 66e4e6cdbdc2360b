// What a signature covers, what a declared payload digest proves, and what reaches the log:
// - every x-amz-* header a request carries must be signed (or, on a presigned URL, carried in its
//   signed query with the same value); otherwise 403 AccessDenied naming them (HeadersNotSigned);
// - x-amz-* parameters in a SigV4 presigned URL's query count as headers (checksums aside); a SigV2
//   URL's do not, since SigV2 leaves them unsigned;
//   SigV2 signs every x-amz-* header by construction;
// - a hex x-amz-content-sha256 header is checked against the body whatever the authentication
//   (SigV4 header or presigned, SigV2 header or presigned, anonymous under a bucket policy);
// - signatures, credentials and Authorization values never reach the log, and an inventory run's
//   recorded error shows no server paths.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { canonicalQueryString, canonicalUri, signingKey, uriEncode } from "../../src/auth/sigv4.js";
import { signV2, stringToSignV2 } from "../../src/auth/sigv2.js";
import { captureLogs } from "../helpers/logs.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { amzDateOf, errorCode, sendRaw, type RawReply } from "./fuzz-helpers.js";
import { dailyCsvInventory, runInventory } from "../helpers/inventory.js";

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const tag = (body: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];

interface Wire {
  target: string;
  headers: Record<string, string>;
}

/** Writes a request head with the given headers (Connection: close added) and sends it with `body`. */
function send(port: number, method: string, wire: Wire, body?: Buffer): Promise<RawReply> {
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...wire.headers };
  if (body !== undefined) headers["content-length"] = String(body.length);
  const lines = [`${method} ${wire.target} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "connection: close"];
  return sendRaw(port, lines.join("\r\n") + "\r\n\r\n", body === undefined ? [] : [body]);
}

function splitTarget(target: string): { rawPath: string; rawQuery: string } {
  const q = target.indexOf("?");
  return q === -1 ? { rawPath: target, rawQuery: "" } : { rawPath: target.slice(0, q), rawQuery: target.slice(q + 1) };
}

/**
 * A SigV4 Authorization-header request: `signed` headers go into SignedHeaders (with host and
 * x-amz-date), `unsigned` ones are sent as well but left out of it. The payload hash in the
 * canonical request is the x-amz-content-sha256 header's value.
 */
function signV4(port: number, method: string, target: string, o: { signed?: Record<string, string>; unsigned?: Record<string, string>; payloadHash: string; signedNames?: (names: string[]) => string[] }): Wire {
  const amzDate = amzDateOf(new Date());
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const signed: Record<string, string> = { host: `127.0.0.1:${port}`, "x-amz-date": amzDate, ...(o.signed ?? {}) };
  const names = Object.keys(signed).sort();
  const listed = o.signedNames ? o.signedNames(names) : names;
  const { rawPath, rawQuery } = splitTarget(target);
  const canonical = [method, canonicalUri(rawPath), canonicalQueryString(rawQuery), names.map((n) => `${n}:${signed[n]!.trim()}\n`).join(""), listed.join(";"), o.payloadHash].join("\n");
  const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`;
  const signature = createHmac("sha256", signingKey(TEST_SECRET_KEY, amzDate.slice(0, 8), "us-east-1")).update(sts).digest("hex");
  const { host: _host, ...rest } = signed;
  return {
    target,
    headers: { ...rest, ...(o.unsigned ?? {}), authorization: `AWS4-HMAC-SHA256 Credential=${TEST_ACCESS_KEY}/${scope}, SignedHeaders=${listed.join(";")}, Signature=${signature}` },
  };
}

/**
 * A SigV4 presigned URL (as @aws-sdk/s3-request-presigner makes them: X-Amz-Content-Sha256 in the
 * query unless `payloadInQuery` is false). `query` adds signed parameters (hoisted headers);
 * `signed` headers are listed in X-Amz-SignedHeaders and must be sent.
 */
function presignV4(port: number, method: string, path: string, o: { query?: Record<string, string>; signed?: Record<string, string>; payloadInQuery?: string | false; payloadHash?: string } = {}): Wire & { signature: string } {
  const amzDate = amzDateOf(new Date());
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const signed: Record<string, string> = { host: `127.0.0.1:${port}`, ...(o.signed ?? {}) };
  const names = Object.keys(signed).sort();
  const payloadInQuery = o.payloadInQuery === undefined ? "UNSIGNED-PAYLOAD" : o.payloadInQuery;
  const params: Record<string, string> = {
    ...(o.query ?? {}),
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${TEST_ACCESS_KEY}/${scope}`,
    "X-Amz-Date": amzDate,
    "X-Amz-Expires": "300",
    "X-Amz-SignedHeaders": names.join(";"),
    ...(payloadInQuery === false ? {} : { "X-Amz-Content-Sha256": payloadInQuery }),
  };
  const { rawPath, rawQuery: ownQuery } = splitTarget(path);
  const rawQuery = [ownQuery, ...Object.entries(params).map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)].filter(Boolean).join("&");
  const payload = payloadInQuery === false ? (o.payloadHash ?? "UNSIGNED-PAYLOAD") : payloadInQuery;
  const canonical = [method, canonicalUri(rawPath), canonicalQueryString(rawQuery), names.map((n) => `${n}:${signed[n]!.trim()}\n`).join(""), names.join(";"), payload].join("\n");
  const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`;
  const signature = createHmac("sha256", signingKey(TEST_SECRET_KEY, amzDate.slice(0, 8), "us-east-1")).update(sts).digest("hex");
  const { host: _host, ...rest } = signed;
  return { target: `${rawPath}?${rawQuery}&X-Amz-Signature=${signature}`, headers: rest, signature };
}

/** A SigV2 Authorization-header request signing `headers` (and a Date). */
function signV2Header(method: string, target: string, headers: Record<string, string>): Wire {
  const date = new Date().toUTCString();
  const all = { date, ...headers };
  const { rawPath, rawQuery } = splitTarget(target);
  const sts = stringToSignV2({ method, rawPath, rawQuery, headers: all }, date);
  return { target, headers: { ...all, authorization: `AWS ${TEST_ACCESS_KEY}:${signV2(TEST_SECRET_KEY, sts)}` } };
}

/** A SigV2 presigned URL (boto3's default) signing `headers`, which must then be sent. */
function presignV2(method: string, path: string, headers: Record<string, string> = {}): Wire & { signature: string } {
  const expires = String(Math.floor(Date.now() / 1000) + 300);
  const { rawPath, rawQuery } = splitTarget(path);
  const signature = signV2(TEST_SECRET_KEY, stringToSignV2({ method, rawPath, rawQuery, headers }, expires));
  const query = [rawQuery, `AWSAccessKeyId=${TEST_ACCESS_KEY}`, `Expires=${expires}`, `Signature=${encodeURIComponent(signature)}`].filter(Boolean).join("&");
  return { target: `${rawPath}?${query}`, headers, signature };
}

async function assertAbsent(server: TestServer, Bucket: string, Key: string, what: string): Promise<void> {
  try {
    await server.client.send(new HeadObjectCommand({ Bucket, Key }));
  } catch (err) {
    assert.ok(err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404, `${what}: ${String(err)}`);
    return;
  }
  assert.fail(`${what}: ${Bucket}/${Key} was stored`);
}

async function getText(server: TestServer, Bucket: string, Key: string): Promise<string> {
  const got = await server.client.send(new GetObjectCommand({ Bucket, Key }));
  return got.Body!.transformToString();
}

function assertHeadersNotSigned(reply: RawReply, names: string[], what: string): void {
  assert.equal(reply.status, 403, `${what}: ${reply.status} ${reply.body}`);
  assert.equal(errorCode(reply.body), "AccessDenied", `${what}: ${reply.body}`);
  assert.equal(tag(reply.body, "Message"), "There were headers present in the request which were not signed", what);
  assert.equal(tag(reply.body, "HeadersNotSigned"), [...names].sort().join(", "), what);
}

const B = "sig-bucket";
const LOCKED = "sig-lock-bucket";

describe("x-amz-* headers must be signed", () => {
  let server: TestServer;
  let port: number;
  before(async () => {
    server = await startTestServer();
    port = server.port;
    await server.client.send(new CreateBucketCommand({ Bucket: B }));
    await server.client.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
    await server.client.send(new PutObjectCommand({ Bucket: B, Key: "private.txt", Body: "private bytes" }));
  });
  after(() => server.stop());

  it("refuses a presigned PUT turned into a CopyObject of a private object by an added x-amz-copy-source", async () => {
    const url = presignV4(port, "PUT", `/${B}/upload.txt`);
    const reply = await send(port, "PUT", { target: url.target, headers: { "x-amz-copy-source": `/${B}/private.txt` } }, Buffer.alloc(0));
    assertHeadersNotSigned(reply, ["x-amz-copy-source"], "copy source");
    await assertAbsent(server, B, "upload.txt", "copy source");
  });

  it("refuses a presigned PUT with added lock, tagging, metadata, storage class or SSE-C headers, and stores nothing", async () => {
    const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const customerKey = randomBytes(32);
    const cases: { bucket: string; headers: Record<string, string> }[] = [
      { bucket: LOCKED, headers: { "x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": future } },
      { bucket: LOCKED, headers: { "x-amz-object-lock-legal-hold": "ON" } },
      { bucket: B, headers: { "x-amz-tagging": "owner=attacker" } },
      { bucket: B, headers: { "x-amz-meta-added": "by someone else" } },
      { bucket: B, headers: { "x-amz-storage-class": "GLACIER" } },
      {
        bucket: B,
        headers: {
          "x-amz-server-side-encryption-customer-algorithm": "AES256",
          "x-amz-server-side-encryption-customer-key": customerKey.toString("base64"),
          "x-amz-server-side-encryption-customer-key-md5": createHash("md5").update(customerKey).digest("base64"),
        },
      },
    ];
    for (const [i, c] of cases.entries()) {
      const key = `added-${i}.txt`;
      const url = presignV4(port, "PUT", `/${c.bucket}/${key}`);
      const body = Buffer.from("hello world");
      // Content-MD5 is no x-amz-* header: anyone may add it, and a lock needs it.
      const contentMd5 = createHash("md5").update(body).digest("base64");
      const reply = await send(port, "PUT", { target: url.target, headers: { ...c.headers, "content-md5": contentMd5 } }, body);
      const names = Object.keys(c.headers);
      assertHeadersNotSigned(reply, names, names.join(","));
      await assertAbsent(server, c.bucket, key, names.join(","));
    }
  });

  it("refuses x-amz-meta-* and x-amz-tagging added to a header-signed SigV4 request after signing", async () => {
    const body = Buffer.from("hello world");
    const wire = signV4(port, "PUT", `/${B}/header-signed.txt`, {
      signed: { "x-amz-content-sha256": sha256(body), "content-length": String(body.length) },
      unsigned: { "x-amz-meta-injected": "yes", "x-amz-tagging": "a=b" },
      payloadHash: sha256(body),
    });
    const reply = await send(port, "PUT", wire, body);
    assertHeadersNotSigned(reply, ["x-amz-meta-injected", "x-amz-tagging"], "header-signed");
    await assertAbsent(server, B, "header-signed.txt", "header-signed");
  });

  it("does not count a SignedHeaders entry in other letter case as signing the header", async () => {
    // Node hands headers over in lower case, so "X-Amz-Meta-Sly" canonicalises to an empty value:
    // the signature would cover nothing of what x-amz-meta-sly carries.
    const body = Buffer.from("hello world");
    const wire = signV4(port, "PUT", `/${B}/case.txt`, {
      signed: { "x-amz-content-sha256": sha256(body), "X-Amz-Meta-Sly": "" },
      unsigned: { "x-amz-meta-sly": "not what was signed" },
      payloadHash: sha256(body),
    });
    delete wire.headers["X-Amz-Meta-Sly"];
    const reply = await send(port, "PUT", wire, body);
    assertHeadersNotSigned(reply, ["x-amz-meta-sly"], "case");
    await assertAbsent(server, B, "case.txt", "case");
  });

  it("accepts a header a presigned URL carries in its signed query with the same value, refuses another value", async () => {
    const url = presignV4(port, "PUT", `/${B}/carried.txt`, { query: { "x-amz-meta-colour": "blue", "x-amz-tagging": "k=v" } });
    const same = await send(port, "PUT", { target: url.target, headers: { "x-amz-meta-colour": "blue", "x-amz-tagging": "k=v" } }, Buffer.from("hello world"));
    assert.equal(same.status, 200, same.body);
    const other = await send(port, "PUT", { target: url.target, headers: { "x-amz-meta-colour": "red", "x-amz-tagging": "k=v" } }, Buffer.from("hello world"));
    assertHeadersNotSigned(other, ["x-amz-meta-colour"], "other value");
    assert.deepEqual((await server.client.send(new HeadObjectCommand({ Bucket: B, Key: "carried.txt" }))).Metadata, { colour: "blue" });
  });

  it("applies the x-amz-* headers a presigned URL carries only in its signed query, as if sent, but not its checksums", async () => {
    // What the JS SDK v3 presigner hoists: metadata, tagging, storage class, and (by default) the
    // CRC32 of the empty body it saw at signing, which S3 ignores.
    const url = presignV4(port, "PUT", `/${B}/hoisted.txt`, {
      query: { "x-amz-meta-colour": "blue", "x-amz-tagging": "k=v", "x-amz-storage-class": "STANDARD_IA", "x-amz-checksum-crc32": "AAAAAA==", "x-amz-sdk-checksum-algorithm": "CRC32" },
    });
    const reply = await send(port, "PUT", url, Buffer.from("hello world"));
    assert.equal(reply.status, 200, reply.body);
    const head = await server.client.send(new HeadObjectCommand({ Bucket: B, Key: "hoisted.txt", ChecksumMode: "ENABLED" }));
    assert.deepEqual(head.Metadata, { colour: "blue" });
    assert.equal(head.StorageClass, "STANDARD_IA");
    assert.equal(head.TagCount, 1);
    assert.notEqual(head.ChecksumCRC32, "AAAAAA==");
    // Appended after signing, a parameter breaks a SigV4 URL's signature.
    const appended = await send(port, "PUT", { target: `${url.target}&x-amz-meta-evil=1`, headers: {} }, Buffer.from("x"));
    assert.equal(errorCode(appended.body), "SignatureDoesNotMatch", appended.body);
  });

  it("takes no header from a SigV2 presigned URL's query, which SigV2 does not sign", async () => {
    const url = presignV2("PUT", `/${B}/v2-query.txt`);
    const reply = await send(port, "PUT", { target: `${url.target}&x-amz-meta-colour=injected&x-amz-storage-class=STANDARD_IA`, headers: {} }, Buffer.from("hello world"));
    assert.equal(reply.status, 200, reply.body);
    const head = await server.client.send(new HeadObjectCommand({ Bucket: B, Key: "v2-query.txt" }));
    assert.deepEqual(head.Metadata, {});
    assert.equal(head.StorageClass, undefined);
  });

  it("accepts headers listed in X-Amz-SignedHeaders of a presigned URL", async () => {
    const url = presignV4(port, "PUT", `/${B}/signed-meta.txt`, { signed: { "x-amz-meta-colour": "green" } });
    const reply = await send(port, "PUT", url, Buffer.from("hello world"));
    assert.equal(reply.status, 200, reply.body);
    assert.deepEqual((await server.client.send(new HeadObjectCommand({ Bucket: B, Key: "signed-meta.txt" }))).Metadata, { colour: "green" });
  });

  it("tolerates an unsigned x-amz-content-sha256 (checked against the body) and x-amzn-trace-id", async () => {
    const body = Buffer.from("hello world");
    const wire = signV4(port, "PUT", `/${B}/tolerated.txt`, {
      signed: {},
      unsigned: { "x-amz-content-sha256": sha256(body), "x-amzn-trace-id": "Root=1-67891233-abcdef012345678912345678" },
      payloadHash: sha256(body),
    });
    const reply = await send(port, "PUT", wire, body);
    assert.equal(reply.status, 200, reply.body);
    assert.equal(await getText(server, B, "tolerated.txt"), "hello world");
    const presigned = presignV4(port, "PUT", `/${B}/tolerated-presigned.txt`);
    const withHash = await send(port, "PUT", { target: presigned.target, headers: { "x-amz-content-sha256": sha256(body), "x-amzn-trace-id": "Root=1-1-1" } }, body);
    assert.equal(withHash.status, 200, withHash.body);
  });

  it("SigV2 signs every x-amz-* header: one added after signing gets SignatureDoesNotMatch (header and presigned)", async () => {
    const body = Buffer.from("hello world");
    const signed = signV2Header("PUT", `/${B}/v2.txt`, { "x-amz-meta-colour": "blue" });
    const added = await send(port, "PUT", { target: signed.target, headers: { ...signed.headers, "x-amz-meta-injected": "yes" } }, body);
    assert.equal(added.status, 403, added.body);
    assert.equal(errorCode(added.body), "SignatureDoesNotMatch");
    const url = presignV2("PUT", `/${B}/v2-presigned.txt`);
    const addedToUrl = await send(port, "PUT", { target: url.target, headers: { "x-amz-meta-injected": "yes" } }, body);
    assert.equal(addedToUrl.status, 403, addedToUrl.body);
    assert.equal(errorCode(addedToUrl.body), "SignatureDoesNotMatch");
    await assertAbsent(server, B, "v2.txt", "v2 header");
    await assertAbsent(server, B, "v2-presigned.txt", "v2 presigned");
    // The same requests as signed are accepted.
    assert.equal((await send(port, "PUT", signed, body)).status, 200);
    assert.equal((await send(port, "PUT", url, body)).status, 200);
  });

  it("still accepts the AWS SDK presigner's URLs (PutObject with Metadata and ContentType, GetObject) and SDK checksums", async () => {
    const putUrl = await getSignedUrl(server.client, new PutObjectCommand({ Bucket: B, Key: "sdk-presigned.txt", Metadata: { colour: "blue" }, ContentType: "text/plain" }), { expiresIn: 60 });
    const put = await fetch(putUrl, { method: "PUT", body: "via presigned url", headers: { "content-type": "text/plain" } });
    assert.equal(put.status, 200, await put.text());
    // The metadata rode in the URL's query (hoisted by the SDK), and the default CRC32 of an empty body did not hold the upload back.
    assert.deepEqual((await server.client.send(new HeadObjectCommand({ Bucket: B, Key: "sdk-presigned.txt" }))).Metadata, { colour: "blue" });
    assert.match(putUrl, /x-amz-meta-colour=blue/);
    // A client that also sends the hoisted header, with the value the URL signed.
    const again = await fetch(putUrl, { method: "PUT", body: "via presigned url", headers: { "content-type": "text/plain", "x-amz-meta-colour": "blue" } });
    assert.equal(again.status, 200, await again.text());
    const getUrl = await getSignedUrl(server.client, new GetObjectCommand({ Bucket: B, Key: "sdk-presigned.txt" }), { expiresIn: 60 });
    const got = await fetch(getUrl, { headers: { "x-amzn-trace-id": "Root=1-2-3" } });
    assert.equal(await got.text(), "via presigned url");
    for (const ChecksumAlgorithm of ["SHA256", "CRC32"] as const) {
      await server.client.send(new PutObjectCommand({ Bucket: B, Key: `sdk-${ChecksumAlgorithm}.txt`, Body: "checksummed", ChecksumAlgorithm }));
      assert.equal(await getText(server, B, `sdk-${ChecksumAlgorithm}.txt`), "checksummed");
    }
    await server.client.send(new PutObjectCommand({ Bucket: B, Key: "sdk-sha.txt", Body: "checksummed", ChecksumSHA256: createHash("sha256").update("checksummed").digest("base64") }));
  });
});

describe("x-amz-content-sha256 is checked against the body, whatever the authentication", () => {
  const BUCKET = "sha-bucket";
  let server: TestServer;
  let port: number;
  before(async () => {
    server = await startTestServer();
    port = server.port;
    await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    // Anonymous writes allowed: an anonymous request's declared digest must hold too.
    await server.client.send(
      new PutBucketPolicyCommand({
        Bucket: BUCKET,
        Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:PutObject", Resource: `arn:aws:s3:::${BUCKET}/*` }] }),
      }),
    );
  });
  after(() => server.stop());

  type Vector = (target: string, declared: string, body: Buffer) => Wire;
  const vectors: Record<string, Vector> = {
    "SigV4 header": (target, declared) => signV4(port, "PUT", target, { signed: { "x-amz-content-sha256": declared }, payloadHash: declared }),
    "SigV4 header, digest unsigned": (target, declared) => signV4(port, "PUT", target, { unsigned: { "x-amz-content-sha256": declared }, payloadHash: declared }),
    "SigV4 presigned (payload mode in the query)": (target, declared) => {
      const url = presignV4(port, "PUT", target);
      return { target: url.target, headers: { "x-amz-content-sha256": declared } };
    },
    "SigV4 presigned (digest signed)": (target, declared) => {
      const url = presignV4(port, "PUT", target, { payloadInQuery: false, payloadHash: declared });
      return { target: url.target, headers: { "x-amz-content-sha256": declared } };
    },
    "SigV4 presigned (upper-case digest in the query)": (target, declared) => presignV4(port, "PUT", target, { payloadInQuery: declared.toUpperCase() }),
    "SigV2 header": (target, declared) => signV2Header("PUT", target, { "x-amz-content-sha256": declared }),
    "SigV2 presigned": (target, declared) => presignV2("PUT", target, { "x-amz-content-sha256": declared }),
    anonymous: (target, declared) => ({ target, headers: { "x-amz-content-sha256": declared } }),
  };
  const bodies = { "11 bytes": Buffer.from("hello world"), "200 KB": randomBytes(200 * 1024) };

  for (const [vector, wireFor] of Object.entries(vectors)) {
    it(`PutObject, ${vector}: a wrong digest is XAmzContentSHA256Mismatch and stores nothing; the right one stores`, async () => {
      for (const [size, body] of Object.entries(bodies)) {
        const key = `put/${vector.replace(/\W+/g, "-")}/${size.replace(/\W+/g, "-")}`;
        const wrong = sha256(Buffer.concat([body, Buffer.from("!")]));
        const reply = await send(port, "PUT", wireFor(`/${BUCKET}/${key}`, wrong, body), body);
        assert.equal(reply.status, 400, `${vector}, ${size}: ${reply.status} ${reply.body}`);
        assert.equal(errorCode(reply.body), "XAmzContentSHA256Mismatch", `${vector}, ${size}`);
        await assertAbsent(server, BUCKET, key, `${vector}, ${size}`);
        const right = await send(port, "PUT", wireFor(`/${BUCKET}/${key}`, sha256(body), body), body);
        assert.equal(right.status, 200, `${vector}, ${size} (right digest): ${right.body}`);
      }
    });

    it(`UploadPart, ${vector}: a wrong digest is XAmzContentSHA256Mismatch and stores no part`, async () => {
      for (const [size, body] of Object.entries(bodies)) {
        const Key = `part/${vector.replace(/\W+/g, "-")}/${size.replace(/\W+/g, "-")}`;
        const { UploadId } = await server.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
        const target = `/${BUCKET}/${Key}?partNumber=1&uploadId=${encodeURIComponent(UploadId!)}`;
        const wrong = sha256(Buffer.concat([body, Buffer.from("!")]));
        const reply = await send(port, "PUT", wireFor(target, wrong, body), body);
        assert.equal(reply.status, 400, `${vector}, ${size}: ${reply.status} ${reply.body}`);
        assert.equal(errorCode(reply.body), "XAmzContentSHA256Mismatch", `${vector}, ${size}`);
        const parts = await server.client.send(new ListPartsCommand({ Bucket: BUCKET, Key, UploadId }));
        assert.deepEqual(parts.Parts ?? [], [], `${vector}, ${size}: a part was stored`);
      }
    });
  }
});

describe("secrets never reach the log", () => {
  let server: TestServer;
  let port: number;
  // The server's own logger, every level, its lines as written.
  const logs = captureLogs();
  before(async () => {
    server = await startTestServer({ log: logs.log });
    port = server.port;
    await server.client.send(new CreateBucketCommand({ Bucket: "log-bucket" }));
    await server.client.send(new PutObjectCommand({ Bucket: "log-bucket", Key: "boom", Body: "x" }));
  });
  after(() => server.stop());

  /** The lines logged while `act` ran. */
  async function linesDuring(act: () => Promise<void>): Promise<string[]> {
    const from = logs.raw.length;
    await act();
    return logs.raw.slice(from);
  }

  function assertClean(lines: string[], secrets: string[], what: string): void {
    for (const line of lines) {
      for (const secret of secrets) assert.ok(!line.includes(secret), `${what}: the log holds ${secret}: ${line}`);
      assert.doesNotMatch(line, /X-Amz-Credential=(?!REDACTED)/i, `${what}: ${line}`);
    }
  }

  it("redacts a presigned URL's signature and credential in the line naming an unimplemented operation", async () => {
    const v4 = presignV4(port, "GET", "/log-bucket?accelerate");
    const v2 = presignV2("GET", "/log-bucket?accelerate");
    const lines = await linesDuring(async () => {
      for (const url of [v4, v2]) {
        const reply = await send(port, "GET", url);
        assert.equal(reply.status, 501, reply.body);
      }
    });
    const named = lines.filter((l) => l.includes("operation not implemented"));
    assert.equal(named.length, 2, lines.join("\n"));
    assert.match(named[0]!, /GetBucketAccelerateConfiguration/);
    assert.match(named[0]!, /X-Amz-Signature=REDACTED/);
    assert.match(named[1]!, /Signature=REDACTED/);
    assertClean(lines, [v4.signature, v2.signature, encodeURIComponent(v2.signature), TEST_ACCESS_KEY], "not implemented");
  });

  it("logs an unknown request, with its URL redacted", async () => {
    const url = presignV4(port, "POST", "/log-bucket/some-key?x-unknown=1");
    const lines = await linesDuring(async () => {
      const reply = await send(port, "POST", url, Buffer.alloc(0));
      assert.equal(reply.status, 405, reply.body);
    });
    const named = lines.filter((l) => l.includes("unknown request"));
    assert.equal(named.length, 1, lines.join("\n"));
    assert.match(named[0]!, /x-unknown=1/);
    assertClean(lines, [url.signature, TEST_ACCESS_KEY], "unknown request");
  });

  it("redacts the URL of a request that failed with an internal error", async () => {
    const metadata = server.context.metadata as unknown as Record<string, unknown>;
    const original = server.context.metadata.getLatest.bind(server.context.metadata);
    metadata.getLatest = async (bucket: string, key: string) => {
      if (key === "boom") throw new Error("injected failure");
      return original(bucket, key);
    };
    const url = presignV4(port, "GET", "/log-bucket/boom");
    try {
      const lines = await linesDuring(async () => {
        const reply = await send(port, "GET", url);
        assert.equal(reply.status, 500, reply.body);
      });
      const named = lines.filter((l) => l.includes("internal error"));
      assert.equal(named.length, 1, lines.join("\n"));
      assert.match(named[0]!, /injected failure/);
      assertClean(lines, [url.signature, TEST_ACCESS_KEY], "internal error");
    } finally {
      delete metadata.getLatest;
    }
  });
});

describe("an inventory run's recorded error", () => {
  let server: TestServer;
  // The server's own logger, every level, its lines as written.
  const logs = captureLogs();
  before(async () => {
    server = await startTestServer({ log: logs.log });
    await dailyCsvInventory(server.client, "inv-src", "inv-dest", ["a"]);
  });
  after(() => server.stop());

  it("shows a generic reason, not server paths, for a filesystem failure; the log has the detail", async () => {
    // The blob store's temporary directory becomes a file: the report's data file cannot be created.
    const tmp = join(server.dataDir, "tmp");
    rmSync(tmp, { recursive: true, force: true });
    writeFileSync(tmp, "not a directory");
    try {
      const run = await runInventory(server, "inv-src", "daily");
      assert.equal(run.status, "failed");
      assert.ok(run.error, "a reason is recorded");
      assert.ok(!run.error.includes(server.dataDir), `the recorded error exposes the data directory: ${run.error}`);
      assert.doesNotMatch(run.error, /\/[\w.-]+\//, `the recorded error exposes a path: ${run.error}`);
      const logged = logs.raw.filter((l) => l.includes("inventory run failed"));
      assert.equal(logged.length, 1, logs.raw.join("\n"));
      assert.ok(logged[0]!.includes(server.dataDir), `the log keeps the detail: ${logged[0]}`);
    } finally {
      rmSync(tmp, { force: true });
      mkdirSync(tmp, { mode: 0o700 });
    }
  });

  it("keeps our own reasons (a refused delivery) word for word", async () => {
    await server.client.send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: "inv-src",
        Id: "nowhere",
        InventoryConfiguration: {
          Id: "nowhere",
          IsEnabled: true,
          IncludedObjectVersions: "Current",
          Schedule: { Frequency: "Daily" },
          Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::no-such-dest", Format: "CSV" } },
        },
      }),
    );
    const run = await runInventory(server, "inv-src", "nowhere");
    assert.equal(run.status, "failed");
    assert.equal(run.error, "destination bucket no-such-dest does not exist or does not accept this report");
  });
});
