// Browser uploads (POST Object) as a web page sends them: multipart/form-data with a policy signed
// with SigV4 or SigV2, built here as a page's server would build them, posted with fetch and
// FormData, and read back with the AWS SDK v3.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { CreateBucketCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutBucketPolicyCommand } from "@aws-sdk/client-s3";
import { signingKey } from "../../src/auth/sigv4.js";
import { rejectsWith } from "../helpers/errors.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";

const Bucket = "post-bucket";

interface FormOptions {
  conditions?: unknown[];
  expiration?: string;
  fields?: Record<string, string>;
  file?: string;
  filename?: string;
  /** Sign with SigV2 (AWSAccessKeyId, signature) instead of SigV4. */
  v2?: boolean;
  secret?: string;
  omit?: string[];
}

function policyOf(conditions: unknown[], expiration = new Date(Date.now() + 600_000).toISOString()): string {
  return Buffer.from(JSON.stringify({ expiration, conditions })).toString("base64");
}

/** The form a page's server would hand a browser: its fields signed, the file last. */
function form(opts: FormOptions): FormData {
  const now = new Date();
  const date = now.toISOString().slice(0, 10).replace(/-/g, "");
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const credential = `${TEST_ACCESS_KEY}/${date}/us-east-1/s3/aws4_request`;
  const fields: Record<string, string> = { key: "uploads/${filename}", "Content-Type": "text/plain", ...opts.fields };
  const signingFields: Record<string, string> = opts.v2
    ? { AWSAccessKeyId: TEST_ACCESS_KEY }
    : { "x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": credential, "x-amz-date": amzDate };
  const conditions = opts.conditions ?? [
    { bucket: Bucket },
    ["starts-with", "$key", "uploads/"],
    ["starts-with", "$Content-Type", "text/"],
    ["content-length-range", 1, 1024],
    ...Object.entries(signingFields)
      .filter(() => !opts.v2)
      .map(([k, v]) => ({ [k]: v })),
  ];
  const policy = policyOf(conditions, opts.expiration);
  const secret = opts.secret ?? TEST_SECRET_KEY;
  const signature = opts.v2
    ? createHmac("sha1", secret).update(policy).digest("base64")
    : createHmac("sha256", signingKey(secret, date, "us-east-1")).update(policy).digest("hex");
  const all: Record<string, string> = { ...fields, ...signingFields, policy, [opts.v2 ? "signature" : "x-amz-signature"]: signature };
  const data = new FormData();
  for (const [k, v] of Object.entries(all)) if (!opts.omit?.includes(k)) data.append(k, v);
  data.append("file", new Blob([opts.file ?? "hello from a browser"]), opts.filename ?? "note.txt");
  return data;
}

describe("POST Object (browser uploads)", () => {
  let server: TestServer;
  const post = (data: FormData) => fetch(`${server.url}/${Bucket}`, { method: "POST", body: data });
  const code = async (r: Response) => /<Code>([^<]+)<\/Code>/.exec(await r.text())?.[1];
  const body = async (Key: string) => (await server.client.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();

  before(async () => {
    server = await startTestServer();
    await server.client.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    await server.stop();
  });

  it("stores the file under the key with ${filename} filled in, signed with SigV4, and answers 204", async () => {
    const r = await post(form({}));
    assert.equal(r.status, 204, await r.clone().text());
    assert.match(r.headers.get("etag") ?? "", /^"[0-9a-f]{32}"$/);
    assert.equal(await body("uploads/note.txt"), "hello from a browser");
    const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: "uploads/note.txt" }));
    assert.equal(head.ContentType, "text/plain");
  });

  it("accepts a SigV2 form, field names in any letter case, metadata, tags and success_action_status 201", async () => {
    const data = form({
      v2: true,
      filename: "v2.txt",
      fields: { KEY: "uploads/${filename}", "x-amz-meta-owner": "page", tagging: "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>", success_action_status: "201" },
      conditions: [{ BUCKET: Bucket }, ["STARTS-WITH", "$Key", "uploads/"], ["eq", "$content-type", "text/plain"], ["starts-with", "$x-amz-meta-owner", ""], ["starts-with", "$tagging", ""], { success_action_status: "201" }],
    });
    const r = await post(data);
    assert.equal(r.status, 201);
    const xml = await r.text();
    assert.match(xml, /<PostResponse[^>]*>.*<Key>uploads\/v2\.txt<\/Key>.*<ETag>/s);
    const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: "uploads/v2.txt" }));
    assert.equal(head.Metadata?.owner, "page");
    const tags = await server.client.send(new GetObjectTaggingCommand({ Bucket, Key: "uploads/v2.txt" }));
    assert.deepEqual(tags.TagSet, [{ Key: "k", Value: "v" }]);
  });

  it("takes fields sent as file parts (as python requests' files= sends them): only the part named file is the upload", async () => {
    const sent = form({ filename: "parts.txt", file: "from parts" });
    const asParts = new FormData();
    for (const [name, value] of sent.entries()) {
      if (name === "file") asParts.append(name, value);
      else asParts.append(name, new Blob([value as string]), name);
    }
    const r = await post(asParts);
    assert.equal(r.status, 204, await r.clone().text());
    assert.equal(await body("uploads/parts.txt"), "from parts");
  });

  it("checks the key with ${filename} filled in, a missing field as empty, and lets a checksum field go unbounded but verified", async () => {
    const conditions = [{ bucket: Bucket }, ["starts-with", "$key", "uploads/filled"], ["starts-with", "$Content-Type", ""], ["starts-with", "$x-amz-meta-optional", ""], ["starts-with", "$x-amz-algorithm", ""], ["starts-with", "$x-amz-credential", ""], ["starts-with", "$x-amz-date", ""]];
    const good = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("checked"))).toString("base64");
    const ok = await post(form({ conditions, filename: "filled.txt", file: "checked", fields: { "x-amz-checksum-sha256": good } }));
    assert.equal(ok.status, 204, await ok.clone().text());
    assert.equal(await body("uploads/filled.txt"), "checked");
    const bad = await post(form({ conditions, filename: "filled2.txt", file: "checked", fields: { "x-amz-checksum-sha256": Buffer.alloc(32).toString("base64") } }));
    assert.equal(bad.status, 400);
    await assert.rejects(body("uploads/filled2.txt"));
  });

  it("refuses more than 20 KB of fields before the file with MaxPostPreDataLengthExceeded, however many parts carry them", async () => {
    const big = await post(form({ fields: { key: "uploads/big.txt", "x-ignore-padding": "p".repeat(21 * 1024) } }));
    assert.equal(big.status, 400);
    assert.equal(await code(big), "MaxPostPreDataLengthExceeded");
    // 500 empty fields are over 20 KB on the wire though their names and values are not.
    const fields: Record<string, string> = { key: "uploads/many.txt" };
    for (let i = 0; i < 500; i++) fields[`x-ignore-${i}`] = "";
    const many = await post(form({ fields }));
    assert.equal(many.status, 400);
    assert.equal(await code(many), "MaxPostPreDataLengthExceeded");
    for (const Key of ["uploads/big.txt", "uploads/many.txt"]) await rejectsWith(server.client.send(new HeadObjectCommand({ Bucket, Key })), "NotFound", 404);
  });

  it("redirects to success_action_redirect with the bucket, key and ETag", async () => {
    const r = await fetch(`${server.url}/${Bucket}`, {
      method: "POST",
      redirect: "manual",
      body: form({ fields: { success_action_redirect: "https://app.example/done" }, conditions: [{ bucket: Bucket }, ["starts-with", "$key", ""], ["starts-with", "$Content-Type", ""], ["starts-with", "$success_action_redirect", "https://app.example/"], ["starts-with", "$x-amz-algorithm", ""], ["starts-with", "$x-amz-credential", ""], ["starts-with", "$x-amz-date", ""]] }),
    });
    assert.equal(r.status, 303);
    const location = new URL(r.headers.get("location")!);
    assert.equal(location.origin + location.pathname, "https://app.example/done");
    assert.equal(location.searchParams.get("key"), "uploads/note.txt");
    assert.equal(location.searchParams.get("bucket"), Bucket);
  });

  it("refuses what the policy does not allow (403) and a malformed policy or form (400), storing nothing", async () => {
    const cases: [FormOptions, number, string][] = [
      [{ fields: { key: "elsewhere/x.txt" } }, 403, "AccessDenied"],
      [{ file: "x".repeat(2000), filename: "big.txt" }, 400, "EntityTooLarge"],
      [{ file: "", filename: "empty.txt" }, 400, "EntityTooSmall"],
      [{ fields: { "x-amz-meta-extra": "not in the policy" } }, 403, "AccessDenied"],
      [{ expiration: "2020-01-01T00:00:00Z" }, 403, "AccessDenied"],
      [{ secret: "not-the-secret", filename: "forged.txt" }, 403, "SignatureDoesNotMatch"],
      [{ expiration: "tomorrow" }, 400, "InvalidPolicyDocument"],
      [{ conditions: [{ bucket: Bucket }, ["content-length-range", -1, 10]] }, 400, "InvalidPolicyDocument"],
      [{ omit: ["key"] }, 400, "InvalidArgument"],
      [{ omit: ["x-amz-signature"] }, 400, "InvalidArgument"],
    ];
    for (const [opts, status, expected] of cases) {
      const r = await post(form(opts));
      assert.equal(r.status, status, JSON.stringify(opts).slice(0, 120));
      assert.equal(await code(r), expected, JSON.stringify(opts).slice(0, 120));
    }
    await assert.rejects(body("uploads/big.txt"));
    await assert.rejects(body("uploads/forged.txt"));
  });

  it("authorizes what the form's fields set besides the bytes, as for PutObject (a Deny of s3:PutObjectLegalHold refuses a legal-hold field)", async () => {
    const B = "post-lock-denied";
    await server.client.send(new CreateBucketCommand({ Bucket: B }));
    const Policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:PutObjectLegalHold", Resource: `arn:aws:s3:::${B}/*` }] });
    await server.client.send(new PutBucketPolicyCommand({ Bucket: B, Policy }));
    const conditions = [{ bucket: B }, ["starts-with", "$key", ""], ["starts-with", "$Content-Type", ""], ["starts-with", "$x-amz-object-lock-legal-hold", ""], ["starts-with", "$x-amz-algorithm", ""], ["starts-with", "$x-amz-credential", ""], ["starts-with", "$x-amz-date", ""]];
    const r = await fetch(`${server.url}/${B}`, { method: "POST", body: form({ conditions, fields: { key: "held.txt", "x-amz-object-lock-legal-hold": "ON" } }) });
    assert.equal(r.status, 403);
    assert.equal(await code(r), "AccessDenied");
  });

  it("refuses an anonymous form (no policy) unless the bucket's policy allows anonymous writes", async () => {
    const data = new FormData();
    data.append("key", "anon.txt");
    data.append("file", new Blob(["anonymous"]), "anon.txt");
    const r = await post(data);
    assert.equal(r.status, 403);
    assert.equal(await code(r), "AccessDenied");
    await assert.rejects(body("anon.txt"));
  });
});

describe("POST Object with SSE-C fields over plain HTTP", () => {
  let server: TestServer;
  const key = Buffer.alloc(32, 7);
  const ssec = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": key.toString("base64"),
    "x-amz-server-side-encryption-customer-key-md5": createHash("md5").update(key).digest("base64"),
  };

  before(async () => {
    server = await startTestServer({ allowInsecureSseC: false });
    await server.client.send(new CreateBucketCommand({ Bucket }));
  });
  after(() => server.stop());

  it("is refused as the same key in headers is (400 InvalidRequest), and nothing is stored, though the policy covers the fields", async () => {
    const conditions = [
      { bucket: Bucket },
      ["starts-with", "$key", "uploads/"],
      ["starts-with", "$Content-Type", "text/"],
      ...Object.entries(ssec).map(([k, v]) => ({ [k]: v })),
    ];
    const signing = [["starts-with", "$x-amz-algorithm", ""], ["starts-with", "$x-amz-credential", ""], ["starts-with", "$x-amz-date", ""]];
    const data = form({ fields: { key: "uploads/secret.txt", ...ssec }, conditions: [...conditions, ...signing] });
    const r = await fetch(`${server.url}/${Bucket}`, { method: "POST", body: data });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /<Code>InvalidRequest<\/Code><Message>Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection\.<\/Message>/);
    await rejectsWith(server.client.send(new HeadObjectCommand({ Bucket, Key: "uploads/secret.txt" })), "NotFound", 404);
  });
});
