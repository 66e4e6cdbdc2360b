// Conditional writes: If-None-Match: * (create only) and If-Match: <etag> (replace only what was
// read) on PutObject, CopyObject's destination and CompleteMultipartUpload, as S3 has answered them
// since 2024. The test runs twice: before the body is read, so a write that cannot succeed costs no
// upload, and again inside the write's own transaction (MetadataStore's WriteCondition), which is
// what decides a race: of several writers creating one key, exactly one commits.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
import { S3Error } from "../errors.js";
import type { S3Request } from "./types.js";
import type { ObjectVersionRecord, WriteCondition } from "../storage/types.js";
import { etagMatches } from "./object-headers.js";

function single(headers: S3Request["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

/** The request's write condition, or undefined when it has none. */
export function writeCondition(req: S3Request): WriteCondition | undefined {
  const ifNoneMatch = single(req.headers, "if-none-match")?.trim();
  const ifMatch = single(req.headers, "if-match")?.trim();
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  // S3 accepts only the asterisk here ("no current object of this key"), and answers an ETag with
  // its generic NotImplemented (S3's answer quoted in aws/aws-sdk-ruby#3144), which clients show as is.
  if (ifNoneMatch !== undefined && ifNoneMatch !== "*") throw new S3Error("NotImplemented", undefined, { Header: "If-None-Match" });
  return (latest: ObjectVersionRecord | undefined) => {
    // A delete marker on top means the key has no current object, as for GET.
    const current = latest && !latest.isDeleteMarker ? latest : undefined;
    if (ifNoneMatch !== undefined && current) throw new S3Error("PreconditionFailed", undefined, { Condition: "If-None-Match" });
    if (ifMatch !== undefined) {
      if (!current) throw new S3Error("NoSuchKey", undefined, { Key: req.key });
      if (!etagMatches(ifMatch, current.etag)) throw new S3Error("PreconditionFailed", undefined, { Condition: "If-Match" });
    }
  };
}
