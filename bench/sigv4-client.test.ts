// Cross-checks the bench's hand-rolled SigV4 signer against @smithy/signature-v4, since s3rver never verifies SigV4.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { SigV4Signer, canonicalQuery, encodeKeyPath, parseListPage } from "./sigv4-client.js";

// Smithy wants a hash constructor with an async digest; node:crypto is enough.
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === "string" ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
class NodeSha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}

async function reference(method: string, host: string, path: string, query: Record<string, string>, date: Date) {
  const signer = new SignatureV4({
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
    region: "us-east-1",
    service: "s3",
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign(
    {
      method,
      protocol: "http:",
      hostname: host.split(":")[0],
      port: Number(host.split(":")[1]),
      path,
      query,
      headers: { host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    },
    { signingDate: date },
  );
  return signed.headers["authorization"];
}

const cases: Array<[string, string, Record<string, string>]> = [
  ["PUT", "/bench/put-000001", {}],
  ["GET", "/bench/dir/a%20b%2Bc%21", {}],
  ["GET", "/bench", { "list-type": "2", "max-keys": "1000", "continuation-token": "ab+/c==" }],
];

for (const [method, path, query] of cases) {
  test(`signature matches smithy for ${method} ${path}`, async () => {
    const date = new Date("2024-05-06T07:08:09Z");
    const ours = new SigV4Signer("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1");
    const headers = ours.sign(method, "127.0.0.1:9000", path, canonicalQuery(Object.entries(query)), date.getTime());
    assert.equal(headers["x-amz-date"], "20240506T070809Z");
    assert.equal(headers.authorization, await reference(method, "127.0.0.1:9000", path, query, date));
  });
}

test("key paths keep slashes and escape the rest once", () => {
  assert.equal(encodeKeyPath("dir/a b+c!"), "dir/a%20b%2Bc%21");
});

test("list page parsing", () => {
  const xml =
    "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key></Contents>" +
    "<Contents><Key>b</Key></Contents><NextContinuationToken>x&amp;y</NextContinuationToken></ListBucketResult>";
  assert.deepEqual(parseListPage(xml), { keys: 2, truncated: true, next: "x&y" });
});
