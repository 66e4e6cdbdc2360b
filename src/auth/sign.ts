// Signing our own requests (the `stocktake inventory` commands talk to a running server as any S3
// client would): SigV4 in the Authorization header with an unsigned payload, built from the same
// canonicalisation the server verifies with.
import { createHash, createHmac } from "node:crypto";
import { canonicalQueryString, canonicalUri, signingKey } from "./sigv4.js";

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Headers (host, x-amz-date, x-amz-content-sha256, authorization) for a request to `url`. */
export function signRequest(method: string, url: URL, credentials: SigningCredentials, region: string, now = new Date()): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amzDate };
  const signed = Object.keys(headers).sort();
  const canonicalRequest = [
    method,
    canonicalUri(url.pathname),
    canonicalQueryString(url.search.replace(/^\?/, "")),
    signed.map((h) => `${h}:${headers[h]}\n`).join(""),
    signed.join(";"),
    "UNSIGNED-PAYLOAD",
  ].join("\n");
  const scope = `${date}/${region}/s3/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash("sha256").update(canonicalRequest).digest("hex")}`;
  const signature = createHmac("sha256", signingKey(credentials.secretAccessKey, date, region)).update(stringToSign).digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signed.join(";")}, Signature=${signature}`;
  return headers;
}
