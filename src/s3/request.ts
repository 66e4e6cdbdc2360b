// What many operations read from a request the same way: a header's value, the account a write
// acts for, Content-MD5 and the declared checksum, and the version a request addresses.
import { S3Error } from "../errors.js";
import { ChecksumAlgorithms, type ChecksumAlgorithm } from "../crypto/checksums.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";
import type { S3Request, ServerContext } from "./types.js";
import { tagsOf } from "../core/tags.js";

type Headers = S3Request["headers"];

export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function isVersioned(bucket: BucketRecord): boolean {
  return bucket.versioning !== undefined;
}

/**
 * The x-amz-version-id of a write's answer: the new version's id while versioning is enabled. A
 * write into a suspended bucket makes the null version, and S3 answers it without the header (its
 * PutObject reference shows the two answers side by side); reads still name it "null".
 */
export function writtenVersionId(bucket: BucketRecord, versionId: string): string | undefined {
  return isVersioned(bucket) && versionId !== "null" ? versionId : undefined;
}

export function ownerAccount(req: S3Request): string {
  return req.principal.kind === "account" ? req.principal.accountId : req.bucketRecord!.ownerAccountId;
}

/** Content-MD5 as S3 checks it: present means 16 bytes of base64 that must match the body. */
export function expectedMd5(headers: Headers): Buffer | undefined {
  const value = header(headers, "content-md5");
  if (value === undefined) return undefined;
  const md5 = Buffer.from(value, "base64");
  if (md5.length !== 16 || md5.toString("base64") !== value.trim()) throw new S3Error("InvalidDigest");
  return md5;
}

/** The checksum the client asserts for the body: a header now, or a trailer after the body. */
export function declaredChecksumAlgorithm(headers: Headers): ChecksumAlgorithm | undefined {
  const trailer = header(headers, "x-amz-trailer")?.trim().toLowerCase();
  for (const [alg, def] of Object.entries(ChecksumAlgorithms) as [ChecksumAlgorithm, { header: string }][]) {
    if (trailer === def.header || headers[def.header] !== undefined) return alg;
  }
  const sdkAlg = header(headers, "x-amz-sdk-checksum-algorithm")?.toUpperCase();
  if (sdkAlg && sdkAlg in ChecksumAlgorithms) return sdkAlg as ChecksumAlgorithm;
  return undefined;
}

/** The record ?versionId=… names, else the key's latest (a delete marker included), as stored now. */
export function lookupAddressed(ctx: ServerContext, bucket: string, key: string, versionId: string | null): Promise<ObjectVersionRecord | undefined> {
  return versionId === null ? ctx.metadata.getLatest(bucket, key) : ctx.metadata.getVersion(bucket, key, versionId);
}

/**
 * The version a GET/HEAD/DELETE addresses: ?versionId=… or the latest. When the edge read it to
 * decide the request (s3:ExistingObjectTag), that very record, not a newer one.
 */
export async function addressedVersion(req: S3Request, ctx: ServerContext): Promise<ObjectVersionRecord> {
  const bucket = req.bucketRecord!;
  const versionId = req.query.get("versionId");
  if (versionId === "") throw new S3Error("InvalidArgument", "Version id cannot be the empty string", { ArgumentName: "versionId", ArgumentValue: "" });
  const v = req.addressed ? req.addressed.version : await lookupAddressed(ctx, bucket.name, req.key!, versionId);
  if (versionId !== null) {
    if (!v) {
      if (versionId !== "null" && !/^[A-Za-z0-9._-]{1,1024}$/.test(versionId)) {
        throw new S3Error("InvalidArgument", "Invalid version id specified", { ArgumentName: "versionId", ArgumentValue: versionId });
      }
      throw new S3Error("NoSuchVersion", undefined, { Key: req.key, VersionId: versionId });
    }
    if (v.isDeleteMarker) {
      throw new S3Error("MethodNotAllowed", undefined, { Method: req.method, ResourceType: "DeleteMarker" }, {
        "x-amz-delete-marker": "true",
        "x-amz-version-id": v.versionId,
        "Last-Modified": v.lastModified.toUTCString(),
      });
    }
    return v;
  }
  if (!v) throw new S3Error("NoSuchKey", undefined, { Key: req.key });
  if (v.isDeleteMarker) {
    throw new S3Error("NoSuchKey", undefined, { Key: req.key }, { "x-amz-delete-marker": "true", "x-amz-version-id": v.versionId });
  }
  return v;
}

/**
 * For a change inside updateVersion: the version's tags must still be those the decision on
 * s3:ExistingObjectTag saw (req.addressed). Otherwise the change would rest on a stale decision,
 * one the tags it now has may refuse: OperationAborted, and the retry is decided afresh.
 */
export function checkDecidedTags(req: S3Request, current: ObjectVersionRecord): void {
  const decided = req.addressed?.version;
  if (decided !== undefined && JSON.stringify(tagsOf(decided.extra)) !== JSON.stringify(tagsOf(current.extra))) throw new S3Error("OperationAborted");
}

const GRANT_HEADERS = ["x-amz-grant-full-control", "x-amz-grant-read", "x-amz-grant-read-acp", "x-amz-grant-write", "x-amz-grant-write-acp"];

/** What a new object's headers set besides its bytes, each an action of its own in S3's policies. */
export function writeHeaderActions(headers: S3Request["headers"]): string[] {
  const actions: string[] = [];
  if (headers["x-amz-tagging"] !== undefined) actions.push("s3:PutObjectTagging");
  if (headers["x-amz-acl"] !== undefined || GRANT_HEADERS.some((h) => headers[h] !== undefined)) actions.push("s3:PutObjectAcl");
  if (headers["x-amz-object-lock-mode"] !== undefined || headers["x-amz-object-lock-retain-until-date"] !== undefined) actions.push("s3:PutObjectRetention");
  if (headers["x-amz-object-lock-legal-hold"] !== undefined) actions.push("s3:PutObjectLegalHold");
  return actions;
}
