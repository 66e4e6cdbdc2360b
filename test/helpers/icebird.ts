// icebird (npm) reads an Iceberg table by URL and has no resolver option: it turns every s3:// URI
// into https://<bucket>.s3.amazonaws.com/<key> and calls the global fetch. withServerFetch installs
// a fetch that sends those requests to a test server, path-style and SigV4-signed, for the time `fn` runs.
import { SignatureV4 } from "@smithy/signature-v4";
import { icebergRead } from "icebird";
import { NodeSha256 } from "./raw.js";

export interface SigningTarget {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
}

export async function withServerFetch<T>(target: SigningTarget, fn: (requested: string[]) => Promise<T>): Promise<T> {
  const original = globalThis.fetch;
  const base = new URL(target.url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    region: target.region ?? "us-east-1",
    service: "s3",
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const requested: string[] = [];
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const host = /^(.+)\.s3\.amazonaws\.com$/.exec(url.hostname);
    if (!host) throw new Error(`icebird asked for ${url.href}, which is not an S3 URL`);
    const path = `/${host[1]}${url.pathname}`;
    requested.push(path);
    const headers: Record<string, string> = { ...Object.fromEntries(new Headers(init?.headers).entries()), host: base.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" };
    const signed = await signer.sign({ method: init?.method ?? "GET", protocol: "http:", hostname: base.hostname, port: Number(base.port), path, query: {}, headers });
    const { host: _host, ...sendable } = signed.headers as Record<string, string>;
    return original(`${target.url}${path}`, { ...init, headers: sendable });
  };
  try {
    return await fn(requested);
  } finally {
    globalThis.fetch = original;
  }
}

/** Every row of the table at s3://<bucket>/<prefix>, as icebird reads it (timestamps as Dates). */
export function readTable(target: SigningTarget, bucket: string, prefix: string): Promise<Record<string, unknown>[]> {
  return withServerFetch(target, () => icebergRead({ tableUrl: `s3://${bucket}/${prefix.replace(/\/$/, "")}` }) as Promise<Record<string, unknown>[]>);
}

/** A fetch for an Iceberg REST catalog client (iceberg-js has no SigV4 option): signs each request for `service`. */
export function sigv4Fetch(credentials: { accessKeyId: string; secretAccessKey: string }, service = "s3"): typeof fetch {
  const signer = new SignatureV4({ credentials, region: "us-east-1", service, sha256: NodeSha256, uriEscapePath: false });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers: Record<string, string> = { ...(init?.headers as Record<string, string> | undefined), host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" };
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => (query[k] = v));
    const signed = await signer.sign({ method: init?.method ?? "GET", protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: url.pathname, query, headers });
    const { host: _host, ...sendable } = signed.headers as Record<string, string>;
    return fetch(url, { ...init, headers: sendable });
  }) as typeof fetch;
}
