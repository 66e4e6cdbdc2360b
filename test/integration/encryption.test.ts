// Server-side encryption through the AWS SDK for JavaScript v3 (and boto3, and the kms CLI):
// SSE-S3 by default, SSE-KMS and DSSE-KMS with the local key service, SSE-C, bucket default
// encryption, copies, multipart uploads, ranges; and the data directory holds no plaintext.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { rejectsWith } from "../helpers/errors.js";
import { cliEnv, startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";

const run = promisify(execFile);
const Bucket = "sse-bucket";
/** 32 bytes: the SDK sends them base64-encoded with their MD5. */
const CUSTOMER_KEY = "0123456789abcdef0123456789abcdef";
const OTHER_KEY = "fedcba9876543210fedcba9876543210";
const ssec = (key = CUSTOMER_KEY) => ({ SSECustomerAlgorithm: "AES256", SSECustomerKey: key });
const keyMd5 = (key: string) => createHash("md5").update(key).digest("base64");

async function bytes(body: { transformToByteArray(): Promise<Uint8Array> } | undefined): Promise<Buffer> {
  return Buffer.from(await body!.transformToByteArray());
}

/** Every file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The files of the data directory that contain `needle` (metadata database and WAL included). */
function filesContaining(dataDir: string, needle: Buffer): string[] {
  return filesUnder(dataDir).filter((f) => readFileSync(f).includes(needle));
}

describe("server-side encryption", () => {
  let server: TestServer;
  let kmsArn: string;

  before(async () => {
    server = await startTestServer();
    await server.client.send(new CreateBucketCommand({ Bucket }));
    kmsArn = (await server.context.keys.createKey(TEST_ACCOUNT_ID, { alias: "alias/test-key" })).arn;
  });
  after(async () => {
    await server.stop();
  });

  it("encrypts every new object with SSE-S3 by default and says so on PUT, GET and HEAD", async () => {
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "plain-put", Body: "hello" }));
    assert.equal(put.ServerSideEncryption, "AES256");
    const got = await server.client.send(new GetObjectCommand({ Bucket, Key: "plain-put" }));
    assert.equal(got.ServerSideEncryption, "AES256");
    assert.equal(await got.Body!.transformToString(), "hello");
    assert.equal(got.ETag, `"${createHash("md5").update("hello").digest("hex")}"`);
    const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: "plain-put" }));
    assert.equal(head.ServerSideEncryption, "AES256");
    assert.equal(head.BucketKeyEnabled, undefined);
    const config = await server.client.send(new GetBucketEncryptionCommand({ Bucket }));
    assert.deepEqual(config.ServerSideEncryptionConfiguration?.Rules, [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" }, BucketKeyEnabled: false }]);
  });

  it("refuses a GET or HEAD that names SSE-S3 or SSE-KMS (the server holds those keys) with 400", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "read-declare", Body: "x" }));
    for (const headers of [{ "x-amz-server-side-encryption": "AES256" }, { "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": kmsArn }]) {
      const client = server.clientFor(TEST_ACCESS_KEY, TEST_SECRET_KEY);
      // As boto3's event hook in s3-tests does: the headers are added before the request is signed.
      client.middlewareStack.add((next) => async (args) => {
        Object.assign((args.request as { headers: Record<string, string> }).headers, headers);
        return next(args);
      }, { step: "build" });
      for (const command of [new GetObjectCommand({ Bucket, Key: "read-declare" }), new HeadObjectCommand({ Bucket, Key: "read-declare" })]) {
        const failure = await client.send(command as GetObjectCommand).then(() => undefined, (err: { $metadata?: { httpStatusCode?: number } }) => err);
        assert.equal(failure?.$metadata?.httpStatusCode, 400, `${command.constructor.name} ${JSON.stringify(headers)}`);
      }
    }
  });

  it("uses SSE-KMS with the AWS managed key aws/s3 when no key is named", async () => {
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "kms-default", Body: "kms", ServerSideEncryption: "aws:kms" }));
    assert.equal(put.ServerSideEncryption, "aws:kms");
    const managed = (await server.context.keys.listKeys(TEST_ACCOUNT_ID)).find((k) => k.aliases.includes("alias/aws/s3"));
    assert.ok(managed, "aws/s3 was created on first use");
    assert.equal(put.SSEKMSKeyId, managed.arn);
    assert.match(managed.arn, /^arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36}$/);
    const got = await server.client.send(new GetObjectCommand({ Bucket, Key: "kms-default" }));
    assert.equal(got.SSEKMSKeyId, managed.arn);
    assert.equal(await got.Body!.transformToString(), "kms");
  });

  it("accepts a KMS key by id, alias, alias ARN or ARN, answers with its ARN, and reports bucket keys", async () => {
    const keyId = kmsArn.split("/").pop()!;
    for (const [i, name] of [keyId, "alias/test-key", `arn:aws:kms:us-east-1:${TEST_ACCOUNT_ID}:alias/test-key`, kmsArn].entries()) {
      const put = await server.client.send(
        new PutObjectCommand({ Bucket, Key: `kms-${i}`, Body: `by ${name}`, ServerSideEncryption: "aws:kms", SSEKMSKeyId: name, BucketKeyEnabled: i === 3 }),
      );
      assert.equal(put.SSEKMSKeyId, kmsArn, name);
      const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: `kms-${i}` }));
      assert.equal(head.ServerSideEncryption, "aws:kms");
      assert.equal(head.SSEKMSKeyId, kmsArn);
      assert.equal(head.BucketKeyEnabled, i === 3 ? true : undefined);
    }
  });

  it("answers KMS.NotFoundException for a key that does not exist, and refuses a key id without aws:kms", async () => {
    const missing = `arn:aws:kms:us-east-1:${TEST_ACCOUNT_ID}:key/00000000-0000-4000-8000-000000000000`;
    for (const SSEKMSKeyId of [missing, "alias/nope", "not-a-key"]) {
      await rejectsWith(server.client.send(new PutObjectCommand({ Bucket, Key: "nope", Body: "x", ServerSideEncryption: "aws:kms", SSEKMSKeyId })), "KMS.NotFoundException", 400);
    }
    await rejectsWith(server.client.send(new PutObjectCommand({ Bucket, Key: "nope", Body: "x", SSEKMSKeyId: kmsArn })), "InvalidArgument", 400);
  });

  it("stores DSSE-KMS objects and reports aws:kms:dsse", async () => {
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "dsse", Body: "two layers", ServerSideEncryption: "aws:kms:dsse", SSEKMSKeyId: "alias/test-key" }));
    assert.equal(put.ServerSideEncryption, "aws:kms:dsse");
    const got = await server.client.send(new GetObjectCommand({ Bucket, Key: "dsse" }));
    assert.equal(got.ServerSideEncryption, "aws:kms:dsse");
    assert.equal(got.SSEKMSKeyId, kmsArn);
    assert.equal(await got.Body!.transformToString(), "two layers");
  });

  it("SSE-C: stores only the key's MD5, needs the key to read, refuses a wrong one with 403", async () => {
    const body = randomBytes(200_000);
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "ssec", Body: body, ...ssec() }));
    assert.equal(put.SSECustomerAlgorithm, "AES256");
    assert.equal(put.SSECustomerKeyMD5, keyMd5(CUSTOMER_KEY));
    assert.equal(put.ServerSideEncryption, undefined);
    const got = await server.client.send(new GetObjectCommand({ Bucket, Key: "ssec", ...ssec() }));
    assert.deepEqual(await bytes(got.Body), body);
    assert.equal(got.SSECustomerKeyMD5, keyMd5(CUSTOMER_KEY));
    const range = await server.client.send(new GetObjectCommand({ Bucket, Key: "ssec", Range: "bytes=65530-131080", ...ssec() }));
    assert.deepEqual(await bytes(range.Body), body.subarray(65530, 131081));
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "ssec" })), "InvalidRequest", 400);
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "ssec", ...ssec(OTHER_KEY) })), "AccessDenied", 403);
    await rejectsWith(server.client.send(new HeadObjectCommand({ Bucket, Key: "ssec", ...ssec(OTHER_KEY) })), undefined, 403);
    const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: "ssec", ...ssec() }));
    assert.equal(head.ContentLength, body.length);
    // SSE-C headers on an object that is not SSE-C are refused.
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "dsse", ...ssec() })), "InvalidRequest", 400);
  });

  it("SSE-C: GetObjectAttributes needs the key too, though it reads no body", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "ssec-attrs", Body: "A".repeat(1000), ...ssec() }));
    const attrs = { Bucket, Key: "ssec-attrs", ObjectAttributes: ["ObjectSize" as const, "ETag" as const] };
    await rejectsWith(server.client.send(new GetObjectAttributesCommand(attrs)), "InvalidRequest", 400);
    await rejectsWith(server.client.send(new GetObjectAttributesCommand({ ...attrs, ...ssec(OTHER_KEY) })), "AccessDenied", 403);
    assert.equal((await server.client.send(new GetObjectAttributesCommand({ ...attrs, ...ssec() }))).ObjectSize, 1000);
  });

  it("streams range GETs of large encrypted objects (blob and multipart) with the right bytes", async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await server.client.send(new PutObjectCommand({ Bucket, Key: "big", Body: big, ServerSideEncryption: "aws:kms", SSEKMSKeyId: "alias/test-key" }));
    for (const [start, end] of [[0, 0], [65535, 65536], [1_000_000, 2_500_000], [big.length - 10, big.length - 1]]) {
      const got = await server.client.send(new GetObjectCommand({ Bucket, Key: "big", Range: `bytes=${start}-${end}` }));
      assert.equal(got.ContentRange, `bytes ${start}-${end}/${big.length}`);
      assert.deepEqual(await bytes(got.Body), big.subarray(start, end + 1), `${start}-${end}`);
    }
    const suffix = await server.client.send(new GetObjectCommand({ Bucket, Key: "big", Range: "bytes=-100" }));
    assert.deepEqual(await bytes(suffix.Body), big.subarray(big.length - 100));

    // Multipart with SSE-C: every part carries the key and is sealed on its own.
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(777_777);
    const created = await server.client.send(new CreateMultipartUploadCommand({ Bucket, Key: "mp-ssec", ...ssec() }));
    assert.equal(created.SSECustomerKeyMD5, keyMd5(CUSTOMER_KEY));
    const { UploadId } = created;
    await rejectsWith(server.client.send(new UploadPartCommand({ Bucket, Key: "mp-ssec", UploadId, PartNumber: 1, Body: part1 })), "InvalidRequest", 400);
    await rejectsWith(server.client.send(new UploadPartCommand({ Bucket, Key: "mp-ssec", UploadId, PartNumber: 1, Body: part1, ...ssec(OTHER_KEY) })), "InvalidRequest", 400);
    const p1 = await server.client.send(new UploadPartCommand({ Bucket, Key: "mp-ssec", UploadId, PartNumber: 1, Body: part1, ...ssec() }));
    assert.equal(p1.SSECustomerAlgorithm, "AES256");
    const p2 = await server.client.send(new UploadPartCommand({ Bucket, Key: "mp-ssec", UploadId, PartNumber: 2, Body: part2, ...ssec() }));
    const completion = { Bucket, Key: "mp-ssec", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } };
    // A completion may leave the key out (this upload has no checksum), but one it names must be the upload's.
    await rejectsWith(server.client.send(new CompleteMultipartUploadCommand({ ...completion, ...ssec(OTHER_KEY) })), "InvalidRequest", 400);
    await server.client.send(new CompleteMultipartUploadCommand(completion));
    const whole = Buffer.concat([part1, part2]);
    const mid = await server.client.send(new GetObjectCommand({ Bucket, Key: "mp-ssec", Range: `bytes=${part1.length - 5}-${part1.length + 5}`, ...ssec() }));
    assert.deepEqual(await bytes(mid.Body), whole.subarray(part1.length - 5, part1.length + 6));
    const all = await server.client.send(new GetObjectCommand({ Bucket, Key: "mp-ssec", ...ssec() }));
    assert.deepEqual(await bytes(all.Body), whole);
    const second = await server.client.send(new GetObjectCommand({ Bucket, Key: "mp-ssec", PartNumber: 2, ...ssec() }));
    assert.deepEqual(await bytes(second.Body), part2);
  });

  it("CopyObject decrypts an SSE-C source with the copy-source key and encrypts as the request says", async () => {
    await rejectsWith(server.client.send(new CopyObjectCommand({ Bucket, Key: "copy-1", CopySource: `${Bucket}/ssec` })), "InvalidRequest", 400);
    const copied = await server.client.send(
      new CopyObjectCommand({
        Bucket,
        Key: "copy-1",
        CopySource: `${Bucket}/ssec`,
        CopySourceSSECustomerAlgorithm: "AES256",
        CopySourceSSECustomerKey: CUSTOMER_KEY,
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: "alias/test-key",
      }),
    );
    assert.equal(copied.ServerSideEncryption, "aws:kms");
    assert.equal(copied.SSEKMSKeyId, kmsArn);
    const source = await bytes((await server.client.send(new GetObjectCommand({ Bucket, Key: "ssec", ...ssec() }))).Body);
    assert.deepEqual(await bytes((await server.client.send(new GetObjectCommand({ Bucket, Key: "copy-1" }))).Body), source);
    // A copy onto itself that only changes the encryption is allowed, as on S3.
    const rekeyed = await server.client.send(
      new CopyObjectCommand({ Bucket, Key: "copy-1", CopySource: `${Bucket}/copy-1`, ...ssec(OTHER_KEY) }),
    );
    assert.equal(rekeyed.SSECustomerKeyMD5, keyMd5(OTHER_KEY));
    assert.deepEqual(await bytes((await server.client.send(new GetObjectCommand({ Bucket, Key: "copy-1", ...ssec(OTHER_KEY) }))).Body), source);
  });

  it("applies a bucket's default encryption (Put/Get/DeleteBucketEncryption) with BucketKeyEnabled", async () => {
    const b = "sse-default";
    await server.client.send(new CreateBucketCommand({ Bucket: b }));
    await server.client.send(
      new PutBucketEncryptionCommand({
        Bucket: b,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: "alias/test-key" }, BucketKeyEnabled: true }] },
      }),
    );
    const config = await server.client.send(new GetBucketEncryptionCommand({ Bucket: b }));
    assert.deepEqual(config.ServerSideEncryptionConfiguration?.Rules, [
      { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: "alias/test-key" }, BucketKeyEnabled: true },
    ]);
    const put = await server.client.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "by default" }));
    assert.equal(put.ServerSideEncryption, "aws:kms");
    assert.equal(put.SSEKMSKeyId, kmsArn);
    assert.equal(put.BucketKeyEnabled, true);
    // A request's own encryption wins over the default.
    const explicit = await server.client.send(new PutObjectCommand({ Bucket: b, Key: "k2", Body: "x", ServerSideEncryption: "AES256" }));
    assert.equal(explicit.ServerSideEncryption, "AES256");
    // Multipart uploads take the default too.
    const created = await server.client.send(new CreateMultipartUploadCommand({ Bucket: b, Key: "mp" }));
    assert.equal(created.ServerSideEncryption, "aws:kms");
    const part = await server.client.send(new UploadPartCommand({ Bucket: b, Key: "mp", UploadId: created.UploadId, PartNumber: 1, Body: "one part" }));
    const done = await server.client.send(
      new CompleteMultipartUploadCommand({ Bucket: b, Key: "mp", UploadId: created.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
    );
    assert.equal(done.SSEKMSKeyId, kmsArn);
    assert.equal(await (await server.client.send(new GetObjectCommand({ Bucket: b, Key: "mp" }))).Body!.transformToString(), "one part");

    await server.client.send(new DeleteBucketEncryptionCommand({ Bucket: b }));
    const reset = await server.client.send(new GetBucketEncryptionCommand({ Bucket: b }));
    assert.equal(reset.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, "AES256");
    assert.equal((await server.client.send(new PutObjectCommand({ Bucket: b, Key: "k3", Body: "x" }))).ServerSideEncryption, "AES256");
    await rejectsWith(
      server.client.send(
        new PutBucketEncryptionCommand({
          Bucket: b,
          ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256", KMSMasterKeyID: kmsArn } }] },
        }),
      ),
      "InvalidArgument",
      400,
    );
  });

  it("creates keys with `stocktake kms create-key` while the server runs, and lists them", async () => {
    const env = cliEnv(server);
    const cli = (...args: string[]) => run(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { env, timeout: 60_000 });
    const created = JSON.parse((await cli("kms", "create-key", "--alias", "alias/from-cli", "--json")).stdout) as { KeyId: string; Arn: string };
    assert.match(created.Arn, new RegExp(`^arn:aws:kms:us-east-1:${TEST_ACCOUNT_ID}:key/${created.KeyId}$`));
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "cli-key", Body: "x", ServerSideEncryption: "aws:kms", SSEKMSKeyId: "alias/from-cli" }));
    assert.equal(put.SSEKMSKeyId, created.Arn);
    const listed = (await cli("kms", "list-keys")).stdout;
    assert.match(listed, /^KEY ID\s+ALIASES\s+CREATED \(UTC\)\s+ARN\n/);
    assert.match(listed, new RegExp(`${created.KeyId}\\s+alias/from-cli\\s+\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\s+arn:aws:kms:`));
    assert.match(listed, /alias\/aws\/s3/);
  });

  it("passes the boto3 encryption checks", async () => {
    const env = {
      ...process.env,
      STOCKTAKE_URL: server.url,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY,
      AWS_DEFAULT_REGION: "us-east-1",
      KMS_KEY_ARN: kmsArn,
    };
    const { stdout } = await run("python3", ["test/clients/boto3_encryption.py"], { env, timeout: 120_000 });
    assert.match(stdout, /boto3 encryption checks passed/);
    assert.doesNotMatch(stdout, /FAIL/);
  });

  it("leaves no plaintext of encrypted objects anywhere in the data directory", async () => {
    // Distinctive, incompressible bodies: small (inline in the database) and large (blob files).
    const marker = (n: number) => Buffer.from(`PLAINTEXT-MARKER-${n}-${randomBytes(8).toString("hex")}-`.repeat(4));
    const cases = [
      { Key: "disk-s3-small", body: marker(1), extra: {} },
      { Key: "disk-s3-large", body: Buffer.concat([marker(2), randomBytes(300_000), marker(2)]), extra: {} },
      { Key: "disk-kms", body: marker(3), extra: { ServerSideEncryption: "aws:kms" as const } },
      { Key: "disk-dsse", body: Buffer.concat([marker(4), randomBytes(100_000)]), extra: { ServerSideEncryption: "aws:kms:dsse" as const } },
      { Key: "disk-ssec", body: marker(5), extra: ssec() },
    ];
    for (const c of cases) await server.client.send(new PutObjectCommand({ Bucket, Key: c.Key, Body: c.body, ...c.extra }));
    for (const c of cases) {
      const needle = c.body.subarray(0, 48);
      assert.deepEqual(filesContaining(server.dataDir, needle), [], `${c.Key} found in the clear`);
    }
    // The SSE-C key itself is nowhere on disk either.
    assert.deepEqual(filesContaining(server.dataDir, Buffer.from(CUSTOMER_KEY)), []);
    assert.deepEqual(filesContaining(server.dataDir, Buffer.from(Buffer.from(CUSTOMER_KEY).toString("base64"))), []);
  });
});

describe("server-side encryption turned off by default (--default-encryption none)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ defaultEncryption: "none" });
    await server.client.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    await server.stop();
  });

  it("stores objects without SSE headers in the clear and has no bucket configuration to show", async () => {
    // Larger than the inline limit: a blob file under the data directory whatever the metadata engine.
    const body = Buffer.from(`CLEAR-MARKER-${randomBytes(8).toString("hex")}`.repeat(3000));
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "clear", Body: body }));
    assert.equal(put.ServerSideEncryption, undefined);
    assert.equal((await server.client.send(new HeadObjectCommand({ Bucket, Key: "clear" }))).ServerSideEncryption, undefined);
    await rejectsWith(server.client.send(new GetBucketEncryptionCommand({ Bucket })), "ServerSideEncryptionConfigurationNotFoundError", 404);
    // The scanner finds plaintext when it is there (so the no-plaintext test above means something).
    assert.notDeepEqual(filesContaining(server.dataDir, body.subarray(0, 40)), []);
    const enc = await server.client.send(new PutObjectCommand({ Bucket, Key: "enc", Body: "x", ServerSideEncryption: "AES256" }));
    assert.equal(enc.ServerSideEncryption, "AES256");
  });
});
