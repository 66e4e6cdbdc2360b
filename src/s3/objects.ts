// Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html (and siblings)
import type { Readable } from "node:stream";
import { S3Error } from "../errors.js";
import { splitCopySource } from "../copy-source.js";
import { asArray, parseXml, textOf, type XmlNode } from "../xml/codec.js";
import type { Handler, S3Request, S3Result, ServerContext } from "./types.js";
import type { BucketRecord, ObjectVersionRecord, StoredEncryption } from "../storage/types.js";
import { parseStorageClass } from "../core/storage-classes.js";
import { MAX_OBJECT_BYTES, openBody, openInline, receiveBody, releaseBodies, requestedChecksums, type StoredBody } from "../core/bodies.js";
import { COPY_SOURCE_CUSTOMER, CUSTOMER, readKeys, writeEncryption } from "./encryption.js";
import {
  checkPreconditions,
  contentFromRequest,
  encryptionHeaders,
  objectResponseHeaders,
  type DescribedContent,
  parseRange,
  type ByteRange,
  type StoredChecksum,
} from "./object-headers.js";
import { ChecksumAlgorithms, type ChecksumAlgorithm } from "../crypto/checksums.js";
import { authorize, checkExpectedOwner, existingObjectTagConditions, requestConditionContext, requestObjectTagConditions } from "../auth/authorize.js";
import { isValidBucketName } from "../bucket-names.js";
import { readChecksummedBody } from "./checksummed-body.js";
import { writeCondition } from "./conditional-writes.js";
import { aclGrants, readResponseHeaders, requestFacts, writeResponseHeaders, type RequestFacts } from "./capability-hooks.js";
import { mayBypassGovernance } from "./object-lock.js";
import { addressedVersion, declaredChecksumAlgorithm, expectedMd5, header, isVersioned, lookupAddressed, ownerAccount, writtenVersionId } from "./request.js";
import { taggingDirective, writeTags } from "./tagging.js";
import { tagsOf } from "../core/tags.js";
import { commitVersion, deleteObjectOrVersion, versionIdFor } from "../core/versions.js";
import type { NewVersion } from "../core/context.js";

function checksumMismatch(alg: ChecksumAlgorithm): S3Error {
  return new S3Error("BadDigest", `The ${alg} you specified did not match the calculated checksum.`);
}

/**
 * Checks the checksum the client sent for a body (header, or aws-chunked trailer known once the
 * body has been read) against the one computed while storing it: BadDigest when they differ.
 */
export function checkDeclaredChecksum(req: S3Request, alg: ChecksumAlgorithm, stored: StoredBody): void {
  const declared = requestedChecksums(req.headers)[alg] ?? req.trailers()[ChecksumAlgorithms[alg].header];
  if (declared !== undefined && declared !== stored.checksums[alg]) throw checksumMismatch(alg);
}

/** PutObject and UploadPart need a declared length (or chunked transfer) that is a byte count. */
export function checkContentLength(req: S3Request): void {
  const transferEncoding = header(req.headers, "transfer-encoding");
  if (req.contentLength === undefined && transferEncoding === undefined) throw new S3Error("MissingContentLength");
  if (req.contentLength !== undefined && !(Number.isInteger(req.contentLength) && req.contentLength >= 0)) {
    throw new S3Error("InvalidArgument", "Content-Length must be a non-negative integer.");
  }
  // Refused before a byte is read: a client declaring 6 GiB learns at once, not after 5 GiB.
  if (req.contentLength !== undefined && req.contentLength > MAX_OBJECT_BYTES) throw new S3Error("EntityTooLarge");
}

export const putObject: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const md5Expected = expectedMd5(req.headers);
  const storageClass = parseStorageClass(req.headers["x-amz-storage-class"]);
  const content = contentFromRequest(req.headers);
  checkContentLength(req);
  const checksumAlg = declaredChecksumAlgorithm(req.headers);
  const facts = await requestFacts(req, ctx, bucket);
  const condition = writeCondition(req);
  if (condition) condition(await ctx.metadata.getLatest(bucket.name, req.key!));
  const encryption = await writeEncryption(req, ctx, bucket);
  const stored = await receiveBody(req.body, {
    blobs: ctx.blobs,
    inlineMaxBytes: ctx.config.inlineObjectMaxBytes,
    checksumAlgorithms: checksumAlg ? [checksumAlg] : [],
    expectedSize: req.contentLength,
    seal: encryption?.wrapping,
  });
  const release = () => releaseBodies(ctx, [{ body: stored.body }], 0);
  try {
    if (md5Expected && !md5Expected.equals(stored.md5)) throw new S3Error("BadDigest");
    let checksum: StoredChecksum | undefined;
    if (checksumAlg) {
      checkDeclaredChecksum(req, checksumAlg, stored);
      checksum = { algorithm: checksumAlg, value: stored.checksums[checksumAlg]!, type: "FULL_OBJECT" };
    }
    const record = newObjectVersion(req, ctx, bucket, stored, { storageClass, content, checksum, encryption: encryption?.stored, facts });
    const versionId = record.versionId;
    await commitVersion(ctx, bucket, record, condition);
    return {
      headers: {
        ETag: record.etag,
        "x-amz-version-id": writtenVersionId(bucket, versionId),
        ...(checksum ? { [ChecksumAlgorithms[checksum.algorithm].header]: checksum.value, "x-amz-checksum-type": checksum.type } : {}),
        ...encryptionHeaders(record),
        ...(await writeResponseHeaders(ctx, bucket, record)),
      },
    };
  } catch (err) {
    release();
    throw err;
  }
};

/** The record of a new (latest) version holding a body just received, for PutObject and CopyObject. */
export function newObjectVersion(
  req: S3Request,
  ctx: ServerContext,
  bucket: BucketRecord,
  stored: StoredBody,
  opts: {
    storageClass: string;
    content: DescribedContent;
    checksum?: StoredChecksum;
    partsCount?: number;
    etag?: string;
    /** How the body was sealed (receiveBody's `seal`), recorded for reads, headers and inventory. */
    encryption?: StoredEncryption;
    /** What the request's lock, ACL and tagging headers decided (requestFacts). */
    facts: RequestFacts;
  },
): NewVersion {
  return {
    bucket: bucket.name,
    key: req.key!,
    versionId: versionIdFor(bucket),
    isDeleteMarker: false,
    size: stored.size,
    etag: opts.etag ?? `"${stored.md5.toString("hex")}"`,
    lastModified: ctx.clock.now(),
    storageClass: opts.storageClass,
    contentType: opts.content.contentType,
    contentHeaders: opts.content.contentHeaders,
    userMetadata: opts.content.userMetadata,
    ownerAccountId: opts.facts.ownerAccountId,
    partsCount: opts.partsCount ?? 0,
    extra: {
      ...opts.facts.extra,
      ...(opts.checksum ? { checksum: opts.checksum } : {}),
      ...(opts.encryption ? { encryption: opts.encryption } : {}),
    },
    body: stored.body,
  };
}

const RESPONSE_OVERRIDES: [string, string][] = [
  ["response-cache-control", "Cache-Control"],
  ["response-content-disposition", "Content-Disposition"],
  ["response-content-encoding", "Content-Encoding"],
  ["response-content-language", "Content-Language"],
  ["response-content-type", "Content-Type"],
  ["response-expires", "Expires"],
];

async function readObject(req: S3Request, ctx: ServerContext, withBody: boolean): Promise<S3Result> {
  // SSE-S3 and SSE-KMS bodies open with the server's keys: a read naming them is a mistake S3 refuses.
  for (const name of ["x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"]) {
    if (req.headers[name] !== undefined) throw new S3Error("InvalidArgument", `${name} header is not supported for this operation.`, { ArgumentName: name });
  }
  const v = await addressedVersion(req, ctx);
  checkPreconditions(
    v,
    {
      ifMatch: header(req.headers, "if-match"),
      ifNoneMatch: header(req.headers, "if-none-match"),
      ifModifiedSince: header(req.headers, "if-modified-since"),
      ifUnmodifiedSince: header(req.headers, "if-unmodified-since"),
    },
    "304",
  );
  const keys = await readKeys(req, ctx, v.extra);
  const bucket = req.bucketRecord!;
  if (withBody) ctx.hooks.beforeBodyRead(ctx, bucket, v);
  const headers: Record<string, string | number | undefined> = {
    ...objectResponseHeaders(v, {
      versioned: isVersioned(bucket),
      checksumMode: header(req.headers, "x-amz-checksum-mode")?.toUpperCase() === "ENABLED",
    }),
    ...(await readResponseHeaders(ctx, bucket, v)),
  };
  for (const [param, name] of RESPONSE_OVERRIDES) {
    const value = req.query.get(param);
    if (value !== null) {
      // Header names are case-insensitive: drop a stored lower-case twin before overriding.
      delete headers[name.toLowerCase()];
      headers[name] = value;
    }
  }
  const partNumber = req.query.get("partNumber");
  let range: ByteRange | undefined;
  if (partNumber !== null) {
    if (header(req.headers, "range") !== undefined) throw new S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter");
    range = partRange(v, parsePartNumber(partNumber));
    // S3 names the parts count only to a reader of one part.
    if (v.partsCount > 0) headers["x-amz-mp-parts-count"] = v.partsCount;
  } else {
    delete headers["x-amz-mp-parts-count"];
    range = parseRange(header(req.headers, "range"), v.size);
  }
  let status = 200;
  if (range && range.end >= range.start) {
    status = 206;
    headers["Content-Range"] = `bytes ${range.start}-${range.end}/${v.size}`;
    headers["Content-Length"] = range.end - range.start + 1;
  } else {
    // An empty part has no byte range to name: it is answered as an empty body.
    headers["Content-Length"] = range ? 0 : v.size;
  }
  if (range) {
    // A range's (or a part's) bytes do not match the whole object's checksum.
    for (const name of Object.keys(headers)) if (name.startsWith("x-amz-checksum-")) delete headers[name];
    // A part of a multipart object has a checksum of its own, which S3 answers instead.
    const sum = v.extra.checksum as StoredChecksum | undefined;
    const part = partNumber !== null && v.body?.kind === "parts" ? v.body.parts.find((p) => p.partNumber === Number(partNumber)) : undefined;
    if (sum && part?.checksum !== undefined && header(req.headers, "x-amz-checksum-mode")?.toUpperCase() === "ENABLED") {
      headers[ChecksumAlgorithms[sum.algorithm].header] = part.checksum;
      headers["x-amz-checksum-type"] = sum.type;
    }
  }
  let body: Readable | Buffer | undefined;
  if (withBody && headers["Content-Length"] !== 0) {
    const loc = v.body!;
    // Small bodies go out as one buffer: cheaper than a stream for the many-small-GETs case.
    if (loc.kind === "inline") body = openInline(loc.data, v.size, range, keys);
    else body = openBody(ctx.blobs, loc, v.size, range, keys);
  }
  return { status, headers, body };
}

/** A partNumber query value: an integer from 1 to 10,000, as for UploadPart. */
export function parsePartNumber(raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 10_000) {
    throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", { ArgumentName: "partNumber", ArgumentValue: raw });
  }
  return Number(raw);
}

/**
 * The bytes of part `n` of a multipart object (by the number it was uploaded with); `end` is
 * `start - 1` for an empty part. An object from a single PUT is its own part 1, as on S3.
 */
function partRange(v: ObjectVersionRecord, n: number): ByteRange {
  const unsatisfiable = () => new S3Error("InvalidPartNumber", undefined, { PartNumberRequested: n, ActualPartCount: Math.max(1, v.partsCount) });
  if (v.body?.kind !== "parts") {
    if (n !== 1) throw unsatisfiable();
    return { start: 0, end: v.size - 1 };
  }
  let offset = 0;
  for (const part of v.body.parts) {
    if (part.partNumber === n) return { start: offset, end: offset + part.size - 1 };
    offset += part.size;
  }
  throw unsatisfiable();
}

export const getObject: Handler = async (req, ctx) => readObject(req, ctx, true);
export const headObject: Handler = async (req, ctx) => readObject(req, ctx, false);

/**
 * DeleteObject's work for one key of the request's bucket (DeleteObjects calls it per key): the
 * requester owns a delete marker it adds, and x-amz-bypass-governance-retention is honoured when
 * the requester may bypass.
 */
async function deleteForRequest(req: S3Request, ctx: ServerContext, key: string, versionId: string | undefined): Promise<{ versionId?: string; deleteMarker: boolean }> {
  const bucket = req.bucketRecord!;
  const bypassGovernance = await mayBypassGovernance(req, ctx, bucket, key);
  return deleteObjectOrVersion(ctx, bucket, key, versionId, { owner: ownerAccount(req), bypassGovernance });
}

export const deleteObject: Handler = async (req, ctx) => {
  const versionId = req.query.get("versionId") ?? undefined;
  const result = await deleteForRequest(req, ctx, req.key!, versionId);
  return {
    status: 204,
    headers: {
      "x-amz-version-id": result.versionId,
      "x-amz-delete-marker": result.deleteMarker ? "true" : undefined,
    },
  };
};

const MAX_DELETE_KEYS = 1000;

/**
 * Each entry of DeleteObjects is authorized as the DeleteObject it stands for (the edge checked no
 * key): s3:DeleteObject, or s3:DeleteObjectVersion with a VersionId, on that key, ACLs included.
 * A refusal becomes that entry's AccessDenied while the others proceed.
 */
async function authorizeDeleteEntry(
  req: S3Request,
  ctx: ServerContext,
  context: Record<string, string | string[] | undefined>,
  key: string,
  versionId: string | undefined,
): Promise<void> {
  const bucket = req.bucketRecord!;
  await authorize({
    principal: req.principal,
    action: versionId === undefined ? "s3:DeleteObject" : "s3:DeleteObjectVersion",
    bucket,
    key,
    policies: ctx.policies,
    context: { ...context, "s3:VersionId": versionId },
    aclGrants: aclGrants(ctx, req.principal, bucket, key, versionId),
  });
}

export const deleteObjects: Handler = async (req, ctx) => {
  const doc = parseXml(await readChecksummedBody(req, 2 * 1024 * 1024), "Delete");
  const quiet = textOf(doc, "Quiet") === "true";
  const objects = asArray(doc.Object as XmlNode | XmlNode[] | undefined);
  if (objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw new S3Error("MalformedXML");
  const targets = objects.map((node) => {
    if (typeof node !== "object") throw new S3Error("MalformedXML");
    const key = textOf(node, "Key");
    if (key === undefined) throw new S3Error("MalformedXML");
    return { key, versionId: textOf(node, "VersionId") };
  });
  const deleted: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  const context = requestConditionContext(req.headers, req.query, req.sourceIp, req.secureTransport, ctx.clock.now(), req.principal.kind !== "anonymous");
  await Promise.all(
    targets.map(async ({ key, versionId }) => {
      try {
        if (Buffer.byteLength(key) > 1024 || key === "") throw new S3Error("InvalidArgument", "Invalid key");
        await authorizeDeleteEntry(req, ctx, context, key, versionId);
        const r = await deleteForRequest(req, ctx, key, versionId);
        if (quiet) return;
        deleted.push({
          Key: key,
          VersionId: versionId,
          DeleteMarker: r.deleteMarker ? "true" : undefined,
          DeleteMarkerVersionId: r.deleteMarker && versionId === undefined ? r.versionId : undefined,
        });
      } catch (err) {
        if (!(err instanceof S3Error)) throw err;
        errors.push({ Key: key, VersionId: versionId, Code: err.code, Message: err.message });
      }
    }),
  );
  return { xml: { root: "DeleteResult", value: { Deleted: deleted, Error: errors } } };
};

/** x-amz-copy-source: "bucket/key[?versionId=v]", URL-encoded, with or without a leading slash. */
function parseCopySource(raw: string): { bucket: string; key: string; versionId?: string } {
  const { path, versionId } = splitCopySource(raw);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new S3Error("InvalidArgument", "Invalid copy source encoding", { ArgumentName: "x-amz-copy-source" });
  }
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey", {
      ArgumentName: "x-amz-copy-source",
      ArgumentValue: raw,
    });
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), versionId };
}

export interface CopySource {
  bucket: BucketRecord;
  key: string;
  /** The version the request named, if it named one. */
  versionId?: string;
  version: ObjectVersionRecord;
}

/**
 * The object x-amz-copy-source names, for CopyObject and UploadPartCopy: its bucket must exist and
 * match x-amz-source-expected-bucket-owner, the caller must be allowed to read it, and the
 * x-amz-copy-source-if-* conditions must hold.
 */
export async function resolveCopySource(req: S3Request, ctx: ServerContext): Promise<CopySource> {
  const src = parseCopySource(header(req.headers, "x-amz-copy-source")!);
  const srcBucket = isValidBucketName(src.bucket) ? await ctx.metadata.getBucket(src.bucket) : undefined;
  if (!srcBucket) throw new S3Error("NoSuchBucket", undefined, { BucketName: src.bucket });
  checkExpectedOwner(req.headers["x-amz-source-expected-bucket-owner"], srcBucket);
  // Read before the check, which gives the source's tags to s3:ExistingObjectTag; the copy reads
  // this very record, so the tags decided on are those of the bytes copied.
  const source = await lookupAddressed(ctx, srcBucket.name, src.key, src.versionId ?? null);
  await authorize({
    principal: req.principal,
    action: src.versionId === undefined ? "s3:GetObject" : "s3:GetObjectVersion",
    bucket: srcBucket,
    key: src.key,
    policies: ctx.policies,
    context: {
      ...requestConditionContext(req.headers, req.query, req.sourceIp, req.secureTransport, ctx.clock.now(), req.principal.kind !== "anonymous"),
      ...existingObjectTagConditions(source ? tagsOf(source.extra) : []),
    },
    aclGrants: aclGrants(ctx, req.principal, srcBucket, src.key, src.versionId),
  });

  if (src.versionId !== undefined) {
    if (!source) throw new S3Error("NoSuchVersion", undefined, { Key: src.key, VersionId: src.versionId });
    if (source.isDeleteMarker) throw new S3Error("InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.");
  } else if (!source || source.isDeleteMarker) {
    throw new S3Error("NoSuchKey", undefined, { Key: src.key });
  }
  checkPreconditions(
    source,
    {
      ifMatch: header(req.headers, "x-amz-copy-source-if-match"),
      ifNoneMatch: header(req.headers, "x-amz-copy-source-if-none-match"),
      ifModifiedSince: header(req.headers, "x-amz-copy-source-if-modified-since"),
      ifUnmodifiedSince: header(req.headers, "x-amz-copy-source-if-unmodified-since"),
    },
    "412",
  );
  return { bucket: srcBucket, key: src.key, versionId: src.versionId, version: source };
}

/**
 * A copy that carries the source's tags (the COPY tagging directive, the default) reads them and
 * writes them, as GetObjectTagging and PutObjectTagging would: a caller refused either could
 * otherwise read tags through a copy of its own, or set tags (which steer tag conditions and
 * tag-filtered rules) where it may only put objects. As for the actions a write's headers add
 * (authorizeActions), an ACL that grants the read or the write grants its tags too.
 */
async function authorizeCopiedTags(req: S3Request, ctx: ServerContext, source: CopySource): Promise<void> {
  const context = requestConditionContext(req.headers, req.query, req.sourceIp, req.secureTransport, ctx.clock.now(), req.principal.kind !== "anonymous");
  const read = source.versionId === undefined ? "s3:GetObject" : "s3:GetObjectVersion";
  const sourceAcl = aclGrants(ctx, req.principal, source.bucket, source.key, source.versionId);
  await authorize({
    principal: req.principal,
    action: source.versionId === undefined ? "s3:GetObjectTagging" : "s3:GetObjectVersionTagging",
    bucket: source.bucket,
    key: source.key,
    policies: ctx.policies,
    context: { ...context, ...existingObjectTagConditions(tagsOf(source.version.extra)) },
    aclGrants: async (a) => (await sourceAcl(a)) || (await sourceAcl(read)),
  });
  const target = req.bucketRecord!;
  const targetAcl = aclGrants(ctx, req.principal, target, req.key!, undefined);
  await authorize({
    principal: req.principal,
    action: "s3:PutObjectTagging",
    bucket: target,
    key: req.key!,
    policies: ctx.policies,
    // The tags it sets are the source's: those are what s3:RequestObjectTag conditions see.
    context: { ...context, ...requestObjectTagConditions(tagsOf(source.version.extra)) },
    aclGrants: async (a) => (await targetAcl(a)) || (await targetAcl("s3:PutObject")),
  });
}

export const copyObject: Handler = async (req, ctx) => {
  const target = req.bucketRecord!;
  const copySource = await resolveCopySource(req, ctx);
  const { bucket: srcBucket, key: srcKey, versionId: srcVersionId, version: source } = copySource;
  await req.authorizeRequestTags?.(writeTags(req.headers, source));
  if (taggingDirective(req.headers) === "COPY" && tagsOf(source.extra).length > 0) await authorizeCopiedTags(req, ctx, copySource);

  const directive = header(req.headers, "x-amz-metadata-directive") ?? "COPY";
  if (directive !== "COPY" && directive !== "REPLACE") {
    throw new S3Error("InvalidArgument", "Unknown metadata directive.", { ArgumentName: "x-amz-metadata-directive", ArgumentValue: directive });
  }
  const storageClassHeader = req.headers["x-amz-storage-class"];
  const storageClass = storageClassHeader === undefined ? source.storageClass : parseStorageClass(storageClassHeader);
  const sameObject = srcBucket.name === target.name && srcKey === req.key;
  const sourceKeys = await readKeys(req, ctx, source.extra, COPY_SOURCE_CUSTOMER);
  const changesEncryption = req.headers["x-amz-server-side-encryption"] !== undefined || req.headers[CUSTOMER + "algorithm"] !== undefined;
  if (sameObject && directive === "COPY" && storageClassHeader === undefined && srcVersionId === undefined && !changesEncryption) {
    throw new S3Error(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const facts = await requestFacts(req, ctx, target, source);
  const condition = writeCondition(req);
  if (condition) condition(await ctx.metadata.getLatest(target.name, req.key!));
  const content =
    directive === "REPLACE"
      ? contentFromRequest(req.headers)
      : { contentType: source.contentType ?? "binary/octet-stream", contentHeaders: source.contentHeaders, userMetadata: source.userMetadata };

  // The copy gets the request's encryption or the target bucket's default, never the source's.
  const encryption = await writeEncryption(req, ctx, target);
  // Reading the source is a read of its bytes: refused while archived, an access for tiering.
  ctx.hooks.beforeBodyRead(ctx, srcBucket, source);
  // The bytes are copied, not shared, so deleting the source can never pull them from under us.
  const sourceBody = openBody(ctx.blobs, source.body!, source.size, undefined, sourceKeys);
  const sourceChecksum = source.extra.checksum as StoredChecksum | undefined;
  const stored = await receiveBody(sourceBody, {
    blobs: ctx.blobs,
    inlineMaxBytes: ctx.config.inlineObjectMaxBytes,
    checksumAlgorithms: sourceChecksum ? [sourceChecksum.algorithm] : [],
    expectedSize: source.size,
    seal: encryption?.wrapping,
  });
  const checksum: StoredChecksum | undefined = sourceChecksum
    ? { algorithm: sourceChecksum.algorithm, value: stored.checksums[sourceChecksum.algorithm]!, type: "FULL_OBJECT" }
    : undefined;
  const record = newObjectVersion(req, ctx, target, stored, { storageClass, content, checksum, encryption: encryption?.stored, facts });
  const versionId = record.versionId;
  try {
    await commitVersion(ctx, target, record, condition);
  } catch (err) {
    releaseBodies(ctx, [{ body: stored.body }], 0);
    throw err;
  }
  return {
    headers: {
      "x-amz-version-id": writtenVersionId(target, versionId),
      "x-amz-copy-source-version-id": isVersioned(srcBucket) ? source.versionId : undefined,
      ...encryptionHeaders(record),
      ...(await writeResponseHeaders(ctx, target, record)),
    },
    xml: {
      root: "CopyObjectResult",
      value: {
        LastModified: record.lastModified.toISOString(),
        ETag: record.etag,
        ...(checksum ? { ["Checksum" + checksum.algorithm]: checksum.value, ChecksumType: checksum.type } : {}),
      },
    },
  };
};
