// The request line (docs/logging.md): one JSON line per request when it finishes, errors and
// dropped connections included, naming the request as its answer did (x-amz-request-id,
// x-amz-id-2), and never holding a signature, a credential or an SSE-C key.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { once } from "node:events";
import { createHash, randomBytes } from "node:crypto";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { captureLogs, type CapturedLogs } from "../helpers/logs.js";
import { plainHead, sendRaw, signedHead } from "../reliability/fuzz-helpers.js";

const Bucket = "req-log";
/** 32 bytes; the SDK sends them base64-encoded, the copy source's in a header of its own. */
const CUSTOMER_KEY = "0123456789abcdef0123456789abcdef";
const COPY_TARGET_KEY = "fedcba9876543210fedcba9876543210";
const b64 = (s: string) => Buffer.from(s).toString("base64");

interface RequestLineFields {
  level: string;
  time: string;
  msg: string;
  requestId: string;
  hostId: string;
  account: string;
  operation?: string;
  method?: string;
  bucket?: string;
  key?: string;
  status: number;
  errorCode?: string;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  remoteAddress: string;
  aborted?: boolean;
}

describe("the request line", () => {
  let server: TestServer;
  let logs: CapturedLogs;

  before(async () => {
    logs = captureLogs();
    server = await startTestServer({ log: logs.log });
    await server.client.send(new CreateBucketCommand({ Bucket }));
  });
  after(() => server.stop());

  /** The one request line of `requestId`, waited for: it is written once the answer is done, which may be after the client has it. */
  async function lineOf(requestId: string | undefined): Promise<RequestLineFields> {
    assert.ok(requestId, "the answer carries a request id");
    for (let i = 0; i < 100; i++) {
      const found = logs.lines.filter((l) => l.msg === "request" && l.requestId === requestId);
      if (found.length > 0) {
        assert.equal(found.length, 1, `one line per request: ${JSON.stringify(found)}`);
        return found[0] as unknown as RequestLineFields;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail(`no request line for ${requestId}: ${logs.raw.join("")}`);
  }

  it("names the request as its answer did, with who, what, the outcome, bytes and time", async () => {
    const body = randomBytes(3000);
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "dir/a b.txt", Body: body }));
    const line = await lineOf(put.$metadata.requestId);
    assert.equal(line.hostId, put.$metadata.extendedRequestId);
    assert.equal(line.level, "info");
    assert.equal(line.msg, "request");
    assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(line.account, TEST_ACCOUNT_ID);
    assert.equal(line.operation, "PutObject");
    assert.equal(line.method, "PUT");
    assert.equal(line.bucket, Bucket);
    assert.equal(line.key, "dir/a b.txt");
    assert.equal(line.status, 200);
    assert.equal(line.errorCode, undefined);
    assert.ok(line.bytesIn >= body.length, `bytesIn ${line.bytesIn}`);
    assert.equal(line.bytesOut, 0);
    assert.equal(typeof line.durationMs, "number");
    assert.ok(line.durationMs >= 0 && line.durationMs < 10_000, `durationMs ${line.durationMs}`);
    assert.equal(line.remoteAddress, "127.0.0.1");
    assert.equal(line.aborted, undefined);

    const got = await server.client.send(new GetObjectCommand({ Bucket, Key: "dir/a b.txt" }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
    const read = await lineOf(got.$metadata.requestId);
    assert.equal(read.hostId, got.$metadata.extendedRequestId);
    assert.deepEqual([read.operation, read.status, read.bytesIn, read.bytesOut], ["GetObject", 200, 0, body.length]);

    const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: "dir/a b.txt" }));
    const headLine = await lineOf(head.$metadata.requestId);
    assert.deepEqual([headLine.operation, headLine.status, headLine.bytesOut], ["HeadObject", 200, 0]);
  });

  it("counts a raw request's body exactly", async () => {
    const body = Buffer.from("exactly these bytes");
    const port = server.port;
    const payloadHash = createHash("sha256").update(body).digest("hex");
    const { head } = signedHead(port, { method: "PUT", rawPath: `/${Bucket}/raw`, headers: { "content-length": String(body.length), "x-amz-content-sha256": payloadHash } });
    const reply = await sendRaw(port, head, [body]);
    assert.equal(reply.status, 200, reply.body);
    const line = await lineOf(reply.headers["x-amz-request-id"]);
    assert.equal(line.hostId, reply.headers["x-amz-id-2"]);
    assert.equal(line.bytesIn, body.length);
  });

  it("logs errors with their code: 4xx at info, anonymous callers as anonymous", async () => {
    const missing = await server.client.send(new GetObjectCommand({ Bucket, Key: "nope" })).catch((e: unknown) => e);
    assert.ok(missing instanceof S3ServiceException);
    const line = await lineOf(missing.$metadata.requestId);
    assert.deepEqual([line.level, line.status, line.errorCode, line.operation, line.key], ["info", 404, "NoSuchKey", "GetObject", "nope"]);
    assert.ok(line.bytesOut > 0, "the error document was sent");

    const reply = await sendRaw(server.port, plainHead(server.port, "GET", `/${Bucket}/dir/a%20b.txt`));
    assert.equal(reply.status, 403);
    const anonymous = await lineOf(reply.headers["x-amz-request-id"]);
    assert.deepEqual([anonymous.account, anonymous.status, anonymous.errorCode, anonymous.operation], ["anonymous", 403, "AccessDenied", "GetObject"]);

    // Refused before classification (a bad signature): still named.
    const bad = await server.clientFor(TEST_ACCESS_KEY, "not-the-secret").send(new HeadObjectCommand({ Bucket, Key: "dir/a b.txt" })).catch((e: unknown) => e);
    assert.ok(bad instanceof S3ServiceException);
    const refused = await lineOf(bad.$metadata.requestId);
    assert.deepEqual([refused.account, refused.status, refused.errorCode, refused.operation], ["anonymous", 403, "SignatureDoesNotMatch", "HeadObject"]);
  });

  it("logs a deliberate 5xx (501 NotImplemented) at warn, keeping error for failures", async () => {
    const reply = await sendRaw(server.port, signedHead(server.port, { method: "GET", rawPath: `/${Bucket}`, rawQuery: "accelerate" }).head);
    assert.equal(reply.status, 501, reply.body);
    const line = await lineOf(reply.headers["x-amz-request-id"]);
    assert.deepEqual([line.level, line.status, line.errorCode], ["warn", 501, "NotImplemented"]);
  });

  it("logs a 500 at error", async () => {
    const metadata = server.context.metadata as unknown as Record<string, unknown>;
    const original = server.context.metadata.getLatest.bind(server.context.metadata);
    metadata.getLatest = async (bucket: string, key: string) => {
      if (key === "boom") throw new Error("injected failure");
      return original(bucket, key);
    };
    try {
      const failed = await server.client.send(new GetObjectCommand({ Bucket, Key: "boom" })).catch((e: unknown) => e);
      assert.ok(failed instanceof S3ServiceException);
      const line = await lineOf(failed.$metadata.requestId);
      assert.deepEqual([line.level, line.status, line.errorCode], ["error", 500, "InternalError"]);
    } finally {
      delete metadata.getLatest;
    }
  });

  it("logs a request whose client went away mid-body, once, as aborted", async () => {
    const port = server.port;
    const before = logs.lines.length;
    const socket = connect(port, "127.0.0.1");
    await once(socket, "connect");
    const { head } = signedHead(port, { method: "PUT", rawPath: `/${Bucket}/cut`, headers: { "content-length": "100000", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } });
    socket.write(head.replace("connection: close\r\n", ""));
    socket.write(Buffer.alloc(1000));
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    let lines: RequestLineFields[] = [];
    for (let i = 0; i < 100 && lines.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      lines = logs.lines.slice(before).filter((l) => l.msg === "request" && l.key === "cut") as unknown as RequestLineFields[];
    }
    assert.equal(lines.length, 1, logs.raw.slice(-5).join(""));
    const line = lines[0]!;
    assert.equal(line.aborted, true);
    assert.equal(line.operation, "PutObject");
    assert.ok(line.bytesIn <= 1000, `bytesIn ${line.bytesIn}`);
    assert.equal(line.level, "info");
  });

  it("leaves out health probes and metrics scrapes", async () => {
    const from = logs.lines.length;
    for (const path of ["/_stocktake/health/live", "/_stocktake/health/ready", "/_stocktake/metrics"]) {
      const probe = await fetch(`${server.url}${path}`);
      await probe.arrayBuffer();
      assert.equal(probe.status, 200, path);
    }
    const after = await server.client.send(new HeadObjectCommand({ Bucket, Key: "dir/a b.txt" }));
    await lineOf(after.$metadata.requestId);
    const requests = logs.lines.slice(from).filter((l) => l.msg === "request");
    assert.deepEqual(requests.map((l) => l.operation), ["HeadObject"]);
  });

  it("can be turned off", async () => {
    const quiet = captureLogs();
    const off = await startTestServer({ log: quiet.log, logRequests: false });
    try {
      await off.client.send(new CreateBucketCommand({ Bucket: "quiet" }));
      await off.client.send(new PutObjectCommand({ Bucket: "quiet", Key: "k", Body: "x" }));
      assert.deepEqual(quiet.lines.filter((l) => l.msg === "request"), []);
      assert.ok(quiet.lines.some((l) => l.msg === "bucket created"), "other lines stay");
    } finally {
      await off.stop();
    }
  });
});

describe("no line holds a signature, a credential or an SSE-C key", () => {
  let server: TestServer;
  let logs: CapturedLogs;

  before(async () => {
    logs = captureLogs();
    server = await startTestServer({ log: logs.log });
    await server.client.send(new CreateBucketCommand({ Bucket }));
  });
  after(() => server.stop());

  function assertClean(secrets: string[]): void {
    assert.ok(logs.raw.length > 0);
    for (const line of logs.raw) {
      for (const secret of secrets) assert.ok(!line.includes(secret), `the log holds ${secret}: ${line}`);
      assert.doesNotMatch(line, /(Signature|Credential)=(?!REDACTED)/i, line);
    }
  }

  it("presigned URLs: the request lines name the request, nothing of the URL's signature or credential", async () => {
    const putUrl = await getSignedUrl(server.client, new PutObjectCommand({ Bucket, Key: "presigned" }), { expiresIn: 60 });
    const put = await fetch(putUrl, { method: "PUT", body: "via a presigned url" });
    assert.equal(put.status, 200, await put.text());
    const getUrl = await getSignedUrl(server.client, new GetObjectCommand({ Bucket, Key: "presigned" }), { expiresIn: 60 });
    const got = await fetch(getUrl);
    assert.equal(await got.text(), "via a presigned url");
    const lines = logs.lines.filter((l) => l.msg === "request" && l.key === "presigned");
    assert.deepEqual(
      lines.map((l) => [l.operation, l.account, l.status]),
      [
        ["PutObject", TEST_ACCOUNT_ID, 200],
        ["GetObject", TEST_ACCOUNT_ID, 200],
      ],
    );
    const signatures = [putUrl, getUrl].map((u) => new URL(u).searchParams.get("X-Amz-Signature")!);
    assertClean([...signatures, TEST_ACCESS_KEY, TEST_SECRET_KEY]);
  });

  it("SSE-C: the keys of writes, reads, copies and a presigned URL carrying one in its query stay out of every line", async () => {
    const ssec = { SSECustomerAlgorithm: "AES256", SSECustomerKey: CUSTOMER_KEY };
    await server.client.send(new PutObjectCommand({ Bucket, Key: "ssec", Body: "secret body", ...ssec }));
    const got = await server.client.send(new GetObjectCommand({ Bucket, Key: "ssec", ...ssec }));
    assert.equal(await got.Body!.transformToString(), "secret body");
    await server.client.send(
      new CopyObjectCommand({
        Bucket,
        Key: "ssec-copy",
        CopySource: `${Bucket}/ssec`,
        CopySourceSSECustomerAlgorithm: "AES256",
        CopySourceSSECustomerKey: CUSTOMER_KEY,
        SSECustomerAlgorithm: "AES256",
        SSECustomerKey: COPY_TARGET_KEY,
      }),
    );
    // The wrong key: refused, and the refusal logged.
    const wrong = await server.client.send(new GetObjectCommand({ Bucket, Key: "ssec", SSECustomerAlgorithm: "AES256", SSECustomerKey: COPY_TARGET_KEY })).catch((e: unknown) => e);
    assert.ok(wrong instanceof S3ServiceException);
    // A presigned URL signs the SSE-C headers, which the client then sends.
    const presigned = new URL(await getSignedUrl(server.client, new GetObjectCommand({ Bucket, Key: "ssec", ...ssec }), { expiresIn: 60 }));
    const viaUrl = await fetch(presigned, {
      headers: {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": b64(CUSTOMER_KEY),
        "x-amz-server-side-encryption-customer-key-md5": createHash("md5").update(CUSTOMER_KEY).digest("base64"),
      },
    });
    assert.equal(await viaUrl.text(), "secret body");
    // A client may put the key in a URL's query too; an unimplemented operation's URL is logged.
    const accelerate = await sendRaw(server.port, plainHead(server.port, "GET", `/${Bucket}?accelerate&x-amz-server-side-encryption-customer-key=${encodeURIComponent(b64(CUSTOMER_KEY))}`));
    assert.equal(accelerate.status, 501);
    assert.ok(logs.lines.some((l) => l.msg === "operation not implemented"), "the unimplemented operation's URL was logged");
    const ops = logs.lines.filter((l) => l.msg === "request" && String(l.key).startsWith("ssec")).map((l) => `${l.operation} ${l.status}`);
    assert.deepEqual(ops, ["PutObject 200", "GetObject 200", "CopyObject 200", "GetObject 403", "GetObject 200"]);
    const secrets = [CUSTOMER_KEY, COPY_TARGET_KEY, b64(CUSTOMER_KEY), b64(COPY_TARGET_KEY), encodeURIComponent(b64(CUSTOMER_KEY)), TEST_ACCESS_KEY];
    assertClean([...secrets, presigned.searchParams.get("X-Amz-Signature")!]);
  });
});
