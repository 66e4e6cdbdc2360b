// Raw S3 requests signed with the AWS SDK's own SigV4 signer, for tests that must send what no SDK
// command would (a body that is not XML, an entity bomb, an oversized document).
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";

function toBytes(d: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof d === "string") return d;
  if (d instanceof ArrayBuffer) return Buffer.from(d);
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** The hash constructor the SDK's signer expects, over node's crypto. */
export class NodeSha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? createHmac("sha256", toBytes(secret)) : createHash("sha256");
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** Sends a SigV4-signed request (UNSIGNED-PAYLOAD) to `url` + `path` with an exact body. */
export async function signedFetch(
  url: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  method: string,
  path: string,
  query: Record<string, string>,
  body?: string,
  extraHeaders: Record<string, string> = {},
): Promise<RawResponse> {
  const target = new URL(url);
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: "s3", sha256: NodeSha256, uriEscapePath: false });
  const headers: Record<string, string> = { ...extraHeaders, host: target.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" };
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  const signed = await signer.sign({ method, protocol: "http:", hostname: target.hostname, port: Number(target.port), path, query, headers });
  const qs = Object.entries(query)
    .map(([k, v]) => (v === "" ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join("&");
  // fetch sets host and content-length itself, to the same values that were signed.
  const { host: _host, "content-length": _length, ...sendable } = signed.headers as Record<string, string>;
  const res = await fetch(`${url}${path}${qs ? "?" + qs : ""}`, { method, headers: sendable, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
