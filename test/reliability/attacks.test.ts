// Attack cases, one test each, against a real server: path traversal and hostile bytes in keys,
// XML entity expansion, oversized headers and bodies, slow-loris bodies, presigned URL tampering
// and expiry, replay outside the skew window, cross-account and anonymous access, and another
// account's inventory configuration. Each expects the S3 error S3 gives (docs/security.md lists them).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";
import { DEFAULT_XML_BODY_LIMIT } from "../../src/xml/codec.js";
import { MAX_POLICY_BYTES } from "../../src/auth/policy.js";
import { assertS3ClientError, createBucket, plainHead, sendRaw, sendSigned, signedHead, startFuzzServer, type FuzzServer } from "./fuzz-helpers.js";

const IDLE_MS = 400;

describe("attacks", () => {
  let s: FuzzServer;
  let other: { accessKeyId: string; secretAccessKey: string; accountId: string };
  const B = "attack-bucket";
  before(async () => {
    s = await startFuzzServer({ bodyIdleTimeoutMs: IDLE_MS });
    await createBucket(s.port, B);
    await createBucket(s.port, "attack-dest");
    assert.equal((await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/secret.txt`, body: "owner only" })).status, 200);
    const inventory = `<InventoryConfiguration><Id>daily</Id><IsEnabled>true</IsEnabled><IncludedObjectVersions>All</IncludedObjectVersions><Schedule><Frequency>Daily</Frequency></Schedule><Destination><S3BucketDestination><Bucket>arn:aws:s3:::attack-dest</Bucket><Format>CSV</Format><Prefix>secret-prefix</Prefix></S3BucketDestination></Destination></InventoryConfiguration>`;
    assert.equal((await sendSigned(s.port, { method: "PUT", rawPath: `/${B}`, rawQuery: "id=daily&inventory", body: inventory })).status, 204);
    const creds = await createAccount(s.server.context.metadata, loadSealingKey(s.server.dataDir), {}, new Date());
    other = { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, accountId: creds.accountId };
  });
  after(async () => {
    await s.assertAlive();
    s.assertNoInternalErrors();
    await s.server.stop();
  });

  describe("keys", () => {
    it("stores a path-traversal key as a plain key and writes no file outside the data directory", async () => {
      const marker = `stocktake-traversal-${randomBytes(6).toString("hex")}`;
      const body = Buffer.alloc(100 * 1024, 1); // above the inline threshold: the body goes to a blob file
      for (const rawKey of [`../../../../../../../../tmp/${marker}`, `%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2ftmp%2f${marker}-enc`, `..%5c..%5c${marker}-win`]) {
        const put = await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/${rawKey}`, body });
        assert.equal(put.status, 200, put.body);
        const got = await sendRaw(s.port, signedHead(s.port, { method: "GET", rawPath: `/${B}/${rawKey}` }).head);
        assert.equal(got.status, 200);
        assert.equal(got.headers["content-length"], String(body.length));
      }
      assert.ok(!existsSync(join("/tmp", marker)) && !existsSync(join(tmpdir(), marker)) && !existsSync(join("/tmp", marker + "-enc")));
      assert.ok(!readdirSync(join(s.server.dataDir, "..")).some((n) => n.startsWith(marker)));
      const list = await sendRaw(s.port, signedHead(s.port, { method: "GET", rawPath: `/${B}`, rawQuery: "encoding-type=url&list-type=2" }).head);
      // S3's url encoding-type leaves "/" as it is.
      assert.ok(list.body.includes(`<Key>../../../../tmp/${marker}-enc</Key>`), list.body);
    });

    it("stores a key with NUL and answers InvalidURI to invalid UTF-8 and lone surrogates", async () => {
      const put = await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/nul%00key`, body: "x" });
      assert.equal(put.status, 200, put.body);
      assert.equal((await sendRaw(s.port, signedHead(s.port, { method: "GET", rawPath: `/${B}/nul%00key` }).head)).status, 200);
      for (const bad of ["bad%ffkey", "bad%C0%AFkey", "bad%ED%A0%80key", "bad%E2%82key", "bad%key"]) {
        assertS3ClientError(await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/${bad}`, body: "x" }), ["InvalidURI"], bad);
      }
    });

    it("answers KeyTooLongError to a key over 1,024 bytes", async () => {
      assertS3ClientError(await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/${"k".repeat(1025)}`, body: "x" }), ["KeyTooLongError"]);
    });
  });

  describe("XML entity expansion", () => {
    const bomb = (root: string) =>
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><${root}><Key>&lol3;</Key></${root}>`;
    const xxe = (root: string) => `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><${root}><Key>&e;</Key></${root}>`;
    const targets: [string, string, string, string][] = [
      ["InventoryConfiguration", "PUT", `/${B}`, "id=daily&inventory"],
      ["VersioningConfiguration", "PUT", `/${B}`, "versioning"],
      ["Delete", "POST", `/${B}`, "delete"],
      ["CompleteMultipartUpload", "POST", `/${B}/mp`, "uploadId=nope"],
    ];
    it("answers MalformedXML to a billion-laughs document and to an external entity, on every XML operation", async () => {
      for (const [root, method, rawPath, rawQuery] of targets) {
        for (const body of [bomb(root), xxe(root)]) {
          const headers: Record<string, string> = root === "Delete" ? { "x-amz-checksum-crc32": "AAAAAA==" } : {};
          const reply = await sendSigned(s.port, { method, rawPath, rawQuery, headers, body });
          // CompleteMultipartUpload looks up the upload before reading the body, as S3 does.
          assertS3ClientError(reply, root === "CompleteMultipartUpload" ? ["NoSuchUpload", "MalformedXML"] : root === "Delete" ? ["MalformedXML", "BadDigest"] : ["MalformedXML"], root);
        }
      }
    });
  });

  describe("oversized input", () => {
    it("answers RequestHeaderSectionTooLarge to a header section over node's 16 KiB limit, and keeps serving", async () => {
      const reply = await sendRaw(s.port, plainHead(s.port, "GET", `/${B}`, { "x-amz-meta-big": "a".repeat(20 * 1024) }));
      assertS3ClientError(reply, ["RequestHeaderSectionTooLarge"]);
      await s.assertAlive();
    });

    it("answers InvalidRequest with an S3 error body to a request line HTTP cannot parse", async () => {
      assertS3ClientError(await sendRaw(s.port, "GET /a b c HTTP/9.9\r\n\r\n"), ["InvalidRequest"]);
      await s.assertAlive();
    });

    it("answers MetadataTooLarge to user metadata over 2 KiB", async () => {
      assertS3ClientError(await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/meta`, headers: { "x-amz-meta-big": "a".repeat(3000) }, body: "x" }), ["MetadataTooLarge"]);
    });

    it("answers MalformedXML / MalformedPolicy to documents over their limits", async () => {
      const big = "<VersioningConfiguration>" + " ".repeat(64 * 1024) + "<Status>Enabled</Status></VersioningConfiguration>";
      assertS3ClientError(await sendSigned(s.port, { method: "PUT", rawPath: `/${B}`, rawQuery: "versioning", body: big }), ["MalformedXML"]);
      const inv = "<InventoryConfiguration>" + " ".repeat(DEFAULT_XML_BODY_LIMIT) + "</InventoryConfiguration>";
      assertS3ClientError(await sendSigned(s.port, { method: "PUT", rawPath: `/${B}`, rawQuery: "id=daily&inventory", body: inv }), ["MalformedXML"]);
      const policy = JSON.stringify({ Version: "2012-10-17", Statement: [], pad: "x".repeat(MAX_POLICY_BYTES) });
      assertS3ClientError(await sendSigned(s.port, { method: "PUT", rawPath: `/${B}`, rawQuery: "policy", body: policy }), ["MalformedPolicy"]);
    });

    it("answers EntityTooLarge at once to a PutObject declaring more than 5 GiB", async () => {
      const head = signedHead(s.port, { method: "PUT", rawPath: `/${B}/huge`, headers: { "content-length": String(6 * 1024 ** 3) } }).head;
      assertS3ClientError(await sendRaw(s.port, head, [Buffer.alloc(1024)], { timeoutMs: IDLE_MS * 10 }), ["EntityTooLarge"]);
    });
  });

  describe("slow clients", () => {
    it("answers RequestTimeout to a body that stalls longer than the idle timeout, and keeps serving others", async () => {
      const head = signedHead(s.port, { method: "PUT", rawPath: `/${B}/slow`, headers: { "content-length": "1000" } }).head;
      const started = Date.now();
      assertS3ClientError(await sendRaw(s.port, head, [Buffer.alloc(10)], { timeoutMs: IDLE_MS * 10 }), ["RequestTimeout"]);
      assert.ok(Date.now() - started < IDLE_MS * 8, `took ${Date.now() - started} ms`);
      await s.assertAlive();
      assert.equal((await sendSigned(s.port, { method: "GET", rawPath: `/${B}/slow` })).status, 404, "nothing of the stalled PUT was stored");
    });

    it("answers RequestTimeout to a slow-loris XML body too (no handler waits forever)", async () => {
      const head = signedHead(s.port, { method: "PUT", rawPath: `/${B}`, rawQuery: "versioning", headers: { "content-length": "200" } }).head;
      assertS3ClientError(await sendRaw(s.port, head, [Buffer.from("<Versioning"), Buffer.from("Configuration>")], { timeoutMs: IDLE_MS * 10, gapMs: 50 }), ["RequestTimeout"]);
      await s.assertAlive();
    });
  });

  describe("clients that go away", () => {
    it("logs a client that hangs up mid-upload or mid-download as such, not as an internal error", async () => {
      // Found by the slow-loris and traversal cases: each disconnect was logged as "internal error"
      // with a stack (a stalled unsigned body surfaced node's "aborted", a download ERR_STREAM_PREMATURE_CLOSE).
      const before = s.log.errors.length;
      const upload = signedHead(s.port, { method: "PUT", rawPath: `/${B}/hangup`, headers: { "content-length": "100000" } }).head;
      // The stalled upload is answered RequestTimeout and closed; its handler then fails reading.
      assertS3ClientError(await sendRaw(s.port, upload, [Buffer.alloc(10)], { timeoutMs: IDLE_MS * 10 }), ["RequestTimeout"]);
      assert.equal((await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/big`, body: Buffer.alloc(4 * 1024 * 1024, 2) })).status, 200);
      const { connect } = await import("node:net");
      await new Promise<void>((resolve) => {
        const sock = connect(s.port, "127.0.0.1", () => sock.write(signedHead(s.port, { method: "GET", rawPath: `/${B}/big` }).head));
        sock.once("data", () => {
          sock.destroy();
          resolve();
        });
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(s.log.errors.slice(before), []);
    });
  });

  describe("presigned URLs and replay", () => {
    const presign = (expiresIn: number, signingDate?: Date) =>
      getSignedUrl(s.server.client, new GetObjectCommand({ Bucket: B, Key: "secret.txt" }), { expiresIn, ...(signingDate ? { signingDate } : {}) });
    const get = (url: string) => {
      const u = new URL(url);
      return sendRaw(s.port, plainHead(s.port, "GET", u.pathname + u.search));
    };

    it("serves an intact presigned URL and answers SignatureDoesNotMatch to every tampered copy", async () => {
      const url = await presign(600);
      assert.equal((await get(url)).status, 200);
      const tampered = [
        url.replace("secret.txt", "secret.txu"),
        url + "&x-id=extra",
        url.replace(/X-Amz-Expires=600/, "X-Amz-Expires=6000"),
        url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === "0" ? "1" : "0"}`),
        url.replace(/X-Amz-SignedHeaders=host/, "X-Amz-SignedHeaders=host%3Brange"),
      ];
      for (const t of tampered) assertS3ClientError(await get(t), ["SignatureDoesNotMatch", "AccessDenied"], t);
      // Another account's key in the credential: that account's signature cannot be forged either.
      assertS3ClientError(await get(url.replace(/X-Amz-Credential=[^%]+/, `X-Amz-Credential=${other.accessKeyId}`)), ["SignatureDoesNotMatch"]);
    });

    it("answers AccessDenied (Request has expired) after the expiry and to a URL dated in the future", async () => {
      assertS3ClientError(await get(await presign(60, new Date(Date.now() - 3600_000))), ["AccessDenied"]);
      assertS3ClientError(await get(await presign(60, new Date(Date.now() + 3600_000))), ["AccessDenied"]);
      const over = (await presign(600)).replace(/X-Amz-Expires=600/, "X-Amz-Expires=604801");
      assertS3ClientError(await get(over), ["AuthorizationQueryParametersError"]);
    });

    it("answers RequestTimeTooSkewed to a signed request replayed outside the 15-minute window", async () => {
      for (const offset of [-16 * 60_000, 16 * 60_000, -24 * 3600_000]) {
        const reply = await sendRaw(s.port, signedHead(s.port, { method: "GET", rawPath: `/${B}/secret.txt`, date: new Date(Date.now() + offset) }).head);
        assertS3ClientError(reply, ["RequestTimeTooSkewed"]);
      }
    });
  });

  describe("access without rights", () => {
    const as = (creds: { accessKeyId: string; secretAccessKey: string } | undefined, method: string, rawPath: string, rawQuery?: string, body?: string) =>
      creds ? sendSigned(s.port, { method, rawPath, rawQuery, body, ...creds }) : sendRaw(s.port, plainHead(s.port, method, rawPath + (rawQuery ? "?" + rawQuery : ""), { "content-length": String(body?.length ?? 0) }), body ? [Buffer.from(body)] : []);

    it("answers AccessDenied to another account, without a bucket policy, on objects, listings and configurations", async () => {
      const cases: [string, string, string?, string?][] = [
        ["GET", `/${B}/secret.txt`],
        ["HEAD", `/${B}/secret.txt`],
        ["PUT", `/${B}/planted.txt`, undefined, "x"],
        ["DELETE", `/${B}/secret.txt`],
        ["GET", `/${B}`, "list-type=2"],
        ["GET", `/${B}`, "versions"],
        ["PUT", `/${B}`, "versioning", "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"],
        ["POST", `/${B}/secret.txt`, "uploads"],
        ["DELETE", `/${B}`],
      ];
      for (const [method, path, query, body] of cases) {
        const reply = await as(other, method, path, query, body);
        if (method === "HEAD") assert.equal(reply.status, 403);
        else assertS3ClientError(reply, ["AccessDenied"], `${method} ${path}?${query ?? ""}`);
      }
      // The bucket policy itself: S3 answers MethodNotAllowed to anyone but the owner's account.
      assertS3ClientError(await as(other, "GET", `/${B}`, "policy"), ["MethodNotAllowed", "AccessDenied"]);
      assert.equal((await sendRaw(s.port, signedHead(s.port, { method: "GET", rawPath: `/${B}/secret.txt` }).head)).status, 200, "the object is untouched");
    });

    it("answers AccessDenied to anonymous requests on objects, listings, bucket creation and ListBuckets", async () => {
      const cases: [string, string, string?, string?][] = [
        ["GET", "/"],
        ["PUT", "/anon-bucket"],
        ["GET", `/${B}/secret.txt`],
        ["PUT", `/${B}/planted.txt`, undefined, "x"],
        ["GET", `/${B}`],
        ["GET", `/${B}`, "inventory"],
        ["POST", `/${B}`, "delete", "<Delete><Object><Key>secret.txt</Key></Object></Delete>"],
      ];
      for (const [method, path, query, body] of cases) assertS3ClientError(await as(undefined, method, path, query, body), ["AccessDenied"], `${method} ${path}`);
    });

    it("answers AccessDenied to another account for every inventory configuration operation, leaking nothing", async () => {
      const cases: [string, string, string?][] = [
        ["GET", "id=daily&inventory"],
        ["GET", "inventory"],
        ["PUT", "id=daily&inventory", '<InventoryConfiguration><Id>daily</Id><IsEnabled>false</IsEnabled><IncludedObjectVersions>All</IncludedObjectVersions><Schedule><Frequency>Daily</Frequency></Schedule><Destination><S3BucketDestination><Bucket>arn:aws:s3:::attack-dest</Bucket><Format>CSV</Format></S3BucketDestination></Destination></InventoryConfiguration>'],
        ["DELETE", "id=daily&inventory"],
        ["POST", "id=daily&inventory&run"],
        ["GET", "inventory-runs"],
      ];
      for (const [method, query, body] of cases) {
        for (const creds of [other, undefined]) {
          const reply = await as(creds, method, `/${B}`, query, body);
          assertS3ClientError(reply, ["AccessDenied"], `${method} ?${query} as ${creds ? "another account" : "anonymous"}`);
          assert.doesNotMatch(reply.body, /secret-prefix|attack-dest/);
        }
      }
      // x-amz-expected-bucket-owner naming another account: AccessDenied even for the owner.
      const mismatch = await sendSigned(s.port, { method: "GET", rawPath: `/${B}`, rawQuery: "id=daily&inventory", headers: { "x-amz-expected-bucket-owner": other.accountId } });
      assertS3ClientError(mismatch, ["AccessDenied"]);
      const mine = await sendSigned(s.port, { method: "GET", rawPath: `/${B}`, rawQuery: "id=daily&inventory" });
      assert.equal(mine.status, 200);
      assert.match(mine.body, /<IsEnabled>true<\/IsEnabled>/, "the configuration is unchanged");
    });
  });
});
