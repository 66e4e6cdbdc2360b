// What the third-party client workflows in test/clients/ share: the 1,000-file tree they sync,
// reading a local tree back, and checking through the AWS SDK what a client left in a bucket.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";

export const MiB = 1024 * 1024;

/** S3's multipart ETag: the MD5 of the parts' binary MD5s, then "-N". */
export function multipartEtag(data: Buffer, partSize: number): string {
  const digests: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += partSize) {
    digests.push(createHash("md5").update(data.subarray(offset, offset + partSize)).digest());
  }
  return `"${createHash("md5").update(Buffer.concat(digests)).digest("hex")}-${digests.length}"`;
}

/** Every object in the bucket under `prefix`, paginated, as key → { etag, lastModified }. */
export async function listAll(s3: S3Client, bucket: string, prefix: string): Promise<Map<string, { etag: string; lastModified: number }>> {
  const objects = new Map<string, { etag: string; lastModified: number }>();
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const o of page.Contents ?? []) {
      objects.set(o.Key!, { etag: o.ETag!, lastModified: o.LastModified!.getTime() });
    }
  }
  return objects;
}

export async function getBody(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** The files under `root`, as relative path (with "/") → bytes. */
export function readTree(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(root, path).split("\\").join("/"), readFileSync(path));
    }
  };
  walk(root);
  return files;
}

/** Where the tree's file number `i` lives: a few nested folders, some files near the top. */
export function treePath(i: number): string {
  const dir = i % 5 === 0 ? `set${i % 4}` : `set${i % 4}/part${i % 10}/deep${i % 3}`;
  return `${dir}/file-${String(i).padStart(4, "0")}.txt`;
}

/** The keys (without `prefix`) that are new in `after`, or whose ETag or time changed since `before`. */
export function rewrittenKeys(
  before: Map<string, { etag: string; lastModified: number }>,
  after: Map<string, { etag: string; lastModified: number }>,
  prefix: string,
): string[] {
  return [...after]
    .filter(([key, now]) => {
      const was = before.get(key);
      return !was || was.etag !== now.etag || was.lastModified !== now.lastModified;
    })
    .map(([key]) => key.slice(prefix.length))
    .sort();
}

/** The same signed URL with one character of its signature changed: it must be refused. */
export function tamperedSignature(url: URL): URL {
  const tampered = new URL(url);
  const param = tampered.searchParams.has("X-Amz-Signature") ? "X-Amz-Signature" : "Signature";
  const signature = tampered.searchParams.get(param)!;
  tampered.searchParams.set(param, (signature[0] === "0" ? "1" : "0") + signature.slice(1));
  return tampered;
}
