// x-amz-copy-source ("[/]bucket/key[?versionId=…]", percent-encoded), split the one way for both
// its readers: CopyObject and UploadPartCopy (src/s3/objects.ts), and the policy condition key
// s3:x-amz-copy-source (src/auth/authorize.ts), which must name the very object the copy reads.

/** The header's path, without the optional leading slash and the query, and the versionId the query names. */
export function splitCopySource(raw: string): { path: string; versionId?: string } {
  const value = raw.startsWith("/") ? raw.slice(1) : raw;
  const q = value.indexOf("?");
  if (q === -1) return { path: value };
  return { path: value.slice(0, q), versionId: new URLSearchParams(value.slice(q + 1)).get("versionId") ?? undefined };
}
