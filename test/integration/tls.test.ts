// HTTPS (--tls-cert/--tls-key): an SDK client trusting a test CA made here with the openssl CLI;
// aws:SecureTransport in bucket policies; SSE-C refused over plain HTTP as S3 refuses it; the
// certificate reloaded (SIGHUP) while a keep-alive connection stays up; the connection gate in
// front of TLS connections.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "node:https";
import { connect, type TLSSocket } from "node:tls";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { rejectsWith } from "../helpers/errors.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { customerKeysMayArrive } from "../../src/server/tls.js";
import { refuseCustomerKeysInTheClear } from "../../src/crypto/sse.js";
import { S3Error } from "../../src/errors.js";
import { freePort } from "../../bench/targets.js";

const run = promisify(execFile);
const openssl = (args: string[]) => run("/usr/bin/openssl", args);
const REPO_ROOT = new URL("../../", import.meta.url).pathname;
const SSE_C_OVER_HTTP = "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.";
const CUSTOMER_KEY = "0123456789abcdef0123456789abcdef";
const ssec = { SSECustomerAlgorithm: "AES256", SSECustomerKey: CUSTOMER_KEY };

/** A CA, and server certificates for 127.0.0.1 it signs, told apart by serial number. */
class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), "stocktake-tls-"));
  ca!: Buffer;

  async init(): Promise<void> {
    await openssl([
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
      "-keyout", join(this.dir, "ca.key"), "-out", join(this.dir, "ca.pem"), "-subj", "/CN=Stocktake test CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    this.ca = readFileSync(join(this.dir, "ca.pem"));
    writeFileSync(join(this.dir, "server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  }

  /** Issues certificate `serial` (hex) into <dir>/<name>.pem and <name>.key. */
  async issue(name: string, serial: string): Promise<{ certFile: string; keyFile: string }> {
    const keyFile = join(this.dir, `${name}.key`);
    const certFile = join(this.dir, `${name}.pem`);
    const csr = join(this.dir, `${name}.csr`);
    await openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile, "-out", csr, "-subj", "/CN=127.0.0.1"]);
    await openssl([
      "x509", "-req", "-in", csr, "-CA", join(this.dir, "ca.pem"), "-CAkey", join(this.dir, "ca.key"),
      "-set_serial", `0x${serial}`, "-days", "2", "-extfile", join(this.dir, "server.ext"), "-out", certFile,
    ]);
    return { certFile, keyFile };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function tlsClient(server: TestServer, agent: Agent): S3Client {
  return new S3Client({
    endpoint: server.url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
    requestHandler: new NodeHttpHandler({ httpsAgent: agent }),
  });
}

/** A keep-alive agent trusting the test CA, with every connection it opened. */
function countingAgent(ca: Buffer): { agent: Agent; connections: TLSSocket[] } {
  const agent = new Agent({ ca, keepAlive: true, maxSockets: 1 });
  const connections: TLSSocket[] = [];
  const create = agent.createConnection.bind(agent);
  agent.createConnection = (...args: Parameters<typeof create>) => {
    const socket = create(...args) as TLSSocket;
    connections.push(socket);
    return socket;
  };
  return { agent, connections };
}

/** The serial a fresh TLS connection is shown. */
function serialOfNewConnection(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once("error", reject);
  });
}

describe("HTTPS", () => {
  const ca = new TestCa();
  let first: { certFile: string; keyFile: string };
  let second: { certFile: string; keyFile: string };
  let server: TestServer;
  let agent: Agent;
  let connections: TLSSocket[];
  let client: S3Client;
  // The files the server is configured with; the test swaps their contents.
  let served: { certFile: string; keyFile: string };

  before(async () => {
    await ca.init();
    first = await ca.issue("first", "A1");
    second = await ca.issue("second", "B2");
    served = { certFile: join(ca.dir, "served.pem"), keyFile: join(ca.dir, "served.key") };
    copyFileSync(first.certFile, served.certFile);
    copyFileSync(first.keyFile, served.keyFile);
    server = await startTestServer({ tlsCertFile: served.certFile, tlsKeyFile: served.keyFile, allowInsecureSseC: false });
    ({ agent, connections } = countingAgent(ca.ca));
    client = tlsClient(server, agent);
    await client.send(new CreateBucketCommand({ Bucket: "tls" }));
  });

  after(async () => {
    client.destroy();
    agent.destroy();
    await server.stop();
    ca.remove();
  });

  it("serves S3 over HTTPS on the configured port", async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    await client.send(new PutObjectCommand({ Bucket: "tls", Key: "hello.txt", Body: "over TLS" }));
    const got = await client.send(new GetObjectCommand({ Bucket: "tls", Key: "hello.txt" }));
    assert.equal(await got.Body!.transformToString(), "over TLS");
  });

  it("evaluates aws:SecureTransport as true", async () => {
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: "tls",
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            // The usual "HTTPS only" policy: denies nothing here.
            { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::tls", "arn:aws:s3:::tls/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } },
            // Its mirror image on one prefix: denies, so the value is really "true".
            { Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::tls/plain-http-only/*", Condition: { Bool: { "aws:SecureTransport": "true" } } },
          ],
        }),
      }),
    );
    await client.send(new PutObjectCommand({ Bucket: "tls", Key: "plain-http-only/x", Body: "x" }));
    assert.equal(await (await client.send(new GetObjectCommand({ Bucket: "tls", Key: "hello.txt" }))).Body!.transformToString(), "over TLS");
    await rejectsWith(client.send(new GetObjectCommand({ Bucket: "tls", Key: "plain-http-only/x" })), "AccessDenied", 403);
  });

  it("accepts SSE-C over TLS without --allow-insecure-sse-c", async () => {
    const put = await client.send(new PutObjectCommand({ Bucket: "tls", Key: "ssec", Body: "customer key", ...ssec }));
    assert.equal(put.SSECustomerAlgorithm, "AES256");
    const got = await client.send(new GetObjectCommand({ Bucket: "tls", Key: "ssec", ...ssec }));
    assert.equal(await got.Body!.transformToString(), "customer key");
  });

  it("reloads the certificate for new connections while a keep-alive connection stays up", async () => {
    const read = async () => (await (await client.send(new GetObjectCommand({ Bucket: "tls", Key: "hello.txt" }))).Body!.transformToString());
    await read();
    const opened = connections.length;
    const kept = connections.at(-1)!;
    assert.equal(kept.getPeerCertificate().serialNumber, "A1");
    copyFileSync(second.certFile, served.certFile);
    copyFileSync(second.keyFile, served.keyFile);
    assert.equal(await server.reloadCertificate(), true);
    assert.equal(await read(), "over TLS");
    assert.equal(connections.length, opened, "the request went over the connection opened before the reload");
    assert.ok(!kept.destroyed);
    assert.equal(kept.getPeerCertificate().serialNumber, "A1", "the open connection keeps its session");
    assert.equal(await serialOfNewConnection(server.port, ca.ca), "B2");
    const fresh = new Agent({ ca: ca.ca });
    const other = tlsClient(server, fresh);
    try {
      assert.equal(await (await other.send(new GetObjectCommand({ Bucket: "tls", Key: "hello.txt" }))).Body!.transformToString(), "over TLS");
    } finally {
      other.destroy();
      fresh.destroy();
    }
  });

  it("keeps the certificate in use when the new files are bad", async () => {
    const current = await serialOfNewConnection(server.port, ca.ca);
    writeFileSync(served.certFile, "not a certificate");
    assert.equal(await server.reloadCertificate(), false);
    // A key that is not the certificate's: refused too.
    copyFileSync(second.certFile, served.certFile);
    copyFileSync(first.keyFile, served.keyFile);
    assert.equal(await server.reloadCertificate(), false);
    assert.equal(await serialOfNewConnection(server.port, ca.ca), current);
    assert.equal(await (await client.send(new GetObjectCommand({ Bucket: "tls", Key: "hello.txt" }))).Body!.transformToString(), "over TLS");
  });
});

describe("SSE-C over plain HTTP", () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ allowInsecureSseC: false });
    await server.client.send(new CreateBucketCommand({ Bucket: "plain" }));
    await server.client.send(new PutObjectCommand({ Bucket: "plain", Key: "source", Body: "x" }));
  });

  after(() => server.stop());

  it("is refused as S3 refuses it: 400 InvalidRequest, nothing stored", async () => {
    const refused = (promise: Promise<unknown>) =>
      assert.rejects(promise, (err: { name?: string; message?: string; $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.name, "InvalidRequest");
        assert.equal(err.message, SSE_C_OVER_HTTP);
        assert.equal(err.$metadata?.httpStatusCode, 400);
        return true;
      });
    await refused(server.client.send(new PutObjectCommand({ Bucket: "plain", Key: "ssec", Body: "secret", ...ssec })));
    await rejectsWith(server.client.send(new HeadObjectCommand({ Bucket: "plain", Key: "ssec" })), "NotFound", 404);
    await refused(server.client.send(new GetObjectCommand({ Bucket: "plain", Key: "source", ...ssec })));
    await refused(
      server.client.send(
        new CopyObjectCommand({ Bucket: "plain", Key: "copy", CopySource: "plain/source", CopySourceSSECustomerAlgorithm: "AES256", CopySourceSSECustomerKey: CUSTOMER_KEY }),
      ),
    );
  });

  it("refuses a customer key carried in a presigned URL's query as it refuses the header", async () => {
    const keyHeaders = ["x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key", "x-amz-server-side-encryption-customer-key-md5"];
    const url = await getSignedUrl(server.client, new PutObjectCommand({ Bucket: "plain", Key: "ssec-url", ...ssec }), { expiresIn: 60, hoistableHeaders: new Set(keyHeaders) });
    assert.match(url, /x-amz-server-side-encryption-customer-key=/);
    const res = await fetch(url, { method: "PUT", body: "secret" });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /<Message>Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection\.<\/Message>/);
    await rejectsWith(server.client.send(new HeadObjectCommand({ Bucket: "plain", Key: "ssec-url" })), "NotFound", 404);
  });

  it("--allow-insecure-sse-c admits loopback clients only", () => {
    for (const address of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) assert.equal(customerKeysMayArrive(false, address, true), true, address);
    for (const address of ["10.0.0.7", "::ffff:192.168.1.2", "2001:db8::1", undefined]) assert.equal(customerKeysMayArrive(false, address, true), false, String(address));
    assert.equal(customerKeysMayArrive(false, "127.0.0.1", false), false);
    assert.equal(customerKeysMayArrive(true, "10.0.0.7", false), true, "over TLS");
    assert.throws(() => refuseCustomerKeysInTheClear(["x-amz-server-side-encryption-customer-algorithm"]), (err: unknown) => err instanceof S3Error && err.code === "InvalidRequest");
    assert.doesNotThrow(() => refuseCustomerKeysInTheClear(["x-amz-server-side-encryption"]), "SSE-S3 is not SSE-C");
  });
});

describe("the connection gate over TLS", () => {
  const ca = new TestCa();
  let server: TestServer;

  before(async () => {
    await ca.init();
    const files = await ca.issue("gate", "C3");
    server = await startTestServer({ tlsCertFile: files.certFile, tlsKeyFile: files.keyFile, maxConnections: 2 });
  });

  after(async () => {
    await server.stop();
    ca.remove();
  });

  it("answers a connection past the limit 503 SlowDown, inside TLS", async () => {
    const open = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<ReturnType<typeof connect>>((resolve, reject) => {
            const socket = connect({ host: "127.0.0.1", port: server.port, ca: ca.ca }, () => resolve(socket));
            socket.once("error", reject);
          }),
      ),
    );
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        let text = "";
        const socket = connect({ host: "127.0.0.1", port: server.port, ca: ca.ca });
        socket.on("data", (d: Buffer) => (text += d.toString()));
        socket.once("close", () => resolve(text));
        socket.once("error", (err) => (text === "" ? reject(err) : resolve(text)));
      });
      assert.match(answer, /^HTTP\/1\.1 503/);
      assert.match(answer, /<Code>SlowDown<\/Code>/);
    } finally {
      for (const socket of open) socket.destroy();
    }
  });
});

describe("stocktake serve --tls-cert --tls-key", () => {
  const ca = new TestCa();

  after(() => ca.remove());

  it("reloads the certificate on SIGHUP", async () => {
    await ca.init();
    const first = await ca.issue("cli-first", "D4");
    const second = await ca.issue("cli-second", "E5");
    const served = { certFile: join(ca.dir, "cli.pem"), keyFile: join(ca.dir, "cli.key") };
    copyFileSync(first.certFile, served.certFile);
    copyFileSync(first.keyFile, served.keyFile);
    const port = await freePort();
    const dataDir = join(ca.dir, "data");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/main.ts", "serve", "--port", String(port), "--data-dir", dataDir, "--disk-reserve", "0", "--tls-cert", served.certFile, "--tls-key", served.keyFile],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, STOCKTAKE_ROOT_ACCESS_KEY: TEST_ACCESS_KEY, STOCKTAKE_ROOT_SECRET_KEY: TEST_SECRET_KEY, STOCKTAKE_ROOT_ACCOUNT_ID: TEST_ACCOUNT_ID } },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      let output = "";
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          output += d.toString();
          if (output.includes("listening on https://")) resolve();
        });
        child.stderr.on("data", (d: Buffer) => (output += d.toString()));
        child.once("exit", () => reject(new Error(`the server exited:\n${output}`)));
      });
      assert.equal(await serialOfNewConnection(port, ca.ca), "D4");
      copyFileSync(second.certFile, served.certFile);
      copyFileSync(second.keyFile, served.keyFile);
      child.kill("SIGHUP");
      const deadline = Date.now() + 10_000;
      let serial = "D4";
      while (serial === "D4" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        serial = await serialOfNewConnection(port, ca.ca);
      }
      assert.equal(serial, "E5", output);
    } finally {
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
    }
  });
});
