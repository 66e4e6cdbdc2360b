// Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
// AbortMultipartUpload, ListParts and ListMultipartUploads. Each part streams into a blob of its
// own; completion links those blobs into the object's body in one metadata transaction and never
// copies their bytes, so completing 5 TiB costs what completing 5 MiB does.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html (and siblings)
import { compareUtf8 } from "../utf8.js";
import { createHash, randomBytes } from "node:crypto";
import { S3Error } from "../errors.js";
import { asArray, parseXml, readBody, textOf, type XmlNode } from "../xml/codec.js";
import type { Handler, S3Request, S3Result, ServerContext } from "./types.js";
import type { BodyPart, BucketRef, ObjectVersionRecord, PartRecord, StoredEncryption, UploadRecord } from "../storage/types.js";
import type { NewVersion } from "../core/context.js";
import { ChecksumAlgorithms, createChecksum, type ChecksumAlgorithm } from "../crypto/checksums.js";
import { CrcCombiner, isCombinable } from "../crypto/crc-combine.js";
import { parseStorageClass } from "../core/storage-classes.js";
import { contentFromRequest, encryptionHeaders, type StoredChecksum } from "./object-headers.js";
import { COPY_SOURCE_CUSTOMER, CUSTOMER, customerKey, readKeys, wrappingOf, writeEncryption } from "./encryption.js";
import type { Wrapping } from "../crypto/sse.js";
import { writeCondition } from "./conditional-writes.js";
import { openBody, receiveBody, releaseBodies, type StoredBody } from "../core/bodies.js";
import { checkContentLength, checkDeclaredChecksum, newObjectVersion, parsePartNumber, resolveCopySource } from "./objects.js";
import { declaredChecksumAlgorithm, expectedMd5, header, isVersioned, ownerAccount, writtenVersionId } from "./request.js";
import { beforePartUpload, requestFacts, writeResponseHeaders, type RequestFacts } from "./capability-hooks.js";
import { commitVersions } from "../core/versions.js";
import { listEncoder, ownerLookup, PAST_PREFIX } from "./listing.js";

/** Every part but the last must be at least this large. */
const MIN_PART_BYTES = 5 * 1024 ** 2;
/** The largest object S3 assembles from parts. */
const MAX_MULTIPART_OBJECT_BYTES = 5 * 1024 ** 4;
const MAX_PARTS = 10_000;
/** 10,000 <Part> elements with ETag and a SHA-256 fit well within this. */
const COMPLETE_BODY_LIMIT = 8 * 1024 * 1024;
const MAX_LIST = 1000;

type ChecksumType = NonNullable<UploadRecord["checksumType"]>;

let uploadCounter = 0;
/** Upload ids sort in creation order (ListMultipartUploads pages by them) and are unguessable. */
function newUploadId(): string {
  uploadCounter = (uploadCounter + 1) % 0x10000;
  return Date.now().toString(36).padStart(9, "0") + uploadCounter.toString(36).padStart(4, "0") + randomBytes(24).toString("base64url");
}

/** The upload the request's uploadId names, for this bucket and key; NoSuchUpload otherwise. */
async function addressedUpload(req: S3Request, ctx: ServerContext): Promise<UploadRecord> {
  const uploadId = req.query.get("uploadId") ?? "";
  const upload = uploadId === "" ? undefined : await ctx.metadata.getUpload(req.bucketRecord!.name, req.key!, uploadId);
  if (!upload) throw new S3Error("NoSuchUpload", undefined, { UploadId: uploadId });
  return upload;
}

/**
 * Who will own the object an upload makes: decided at CreateMultipartUpload by the bucket's
 * ObjectOwnership (the bucket owner under BucketOwnerEnforced, say), and shown as the upload's
 * Owner beside its Initiator. Uploads begun before that was kept are owned by their initiator.
 */
function futureOwner(upload: UploadRecord): string {
  return (upload.extra.facts as RequestFacts | undefined)?.ownerAccountId ?? upload.ownerAccountId;
}

function noSuchUploadFrom(err: unknown, uploadId: string): unknown {
  // The store reports an upload completed or aborted concurrently with a plain Error.
  return err instanceof Error && err.message === "NoSuchUpload" ? new S3Error("NoSuchUpload", undefined, { UploadId: uploadId }) : err;
}

/**
 * The checksum an upload is created with. S3's rules: SHA-1 and SHA-256 checksums of a multipart
 * object can only be COMPOSITE (a hash of the parts' hashes), CRC64NVME only FULL_OBJECT, CRC32
 * and CRC32C either (COMPOSITE unless asked otherwise).
 */
function uploadChecksum(req: S3Request): { algorithm?: ChecksumAlgorithm; type?: ChecksumType } {
  const rawAlg = header(req.headers, "x-amz-checksum-algorithm");
  const rawType = header(req.headers, "x-amz-checksum-type");
  if (rawAlg === undefined) {
    if (rawType !== undefined) throw new S3Error("InvalidRequest", "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.");
    return {};
  }
  const algorithm = rawAlg.toUpperCase();
  if (!(algorithm in ChecksumAlgorithms)) {
    throw new S3Error("InvalidRequest", `Checksum algorithm provided is unsupported. Please try again with any of the valid types: [${Object.keys(ChecksumAlgorithms).join(", ")}]`);
  }
  const alg = algorithm as ChecksumAlgorithm;
  const type = rawType?.toUpperCase() ?? (alg === "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE");
  if (type !== "COMPOSITE" && type !== "FULL_OBJECT") throw new S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.");
  if ((type === "FULL_OBJECT" && !isCombinable(alg)) || (type === "COMPOSITE" && alg === "CRC64NVME")) {
    throw new S3Error("InvalidRequest", `The ${type} checksum type cannot be used with the ${alg.toLowerCase()} checksum algorithm.`);
  }
  return { algorithm: alg, type };
}

function checksumElement(alg: ChecksumAlgorithm | undefined, value: string | undefined): Record<string, string> {
  return alg && value !== undefined ? { ["Checksum" + alg]: value } : {};
}

export const createMultipartUpload: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const storageClass = parseStorageClass(req.headers["x-amz-storage-class"]);
  const content = contentFromRequest(req.headers);
  const { algorithm, type } = uploadChecksum(req);
  // Lock, ACL and tagging headers come with the initiation; the object gets them at completion.
  const facts = await requestFacts(req, ctx, bucket);
  // Every part is sealed under the encryption chosen here (SSE-C: each part brings the same key).
  const encryption = await writeEncryption(req, ctx, bucket);
  const upload: UploadRecord = {
    uploadId: newUploadId(),
    bucket: bucket.name,
    key: req.key!,
    initiated: ctx.clock.now(),
    ownerAccountId: ownerAccount(req),
    storageClass,
    contentType: content.contentType,
    contentHeaders: content.contentHeaders,
    userMetadata: content.userMetadata,
    checksumAlgorithm: algorithm,
    checksumType: type,
    extra: { ...(encryption ? { encryption: encryption.stored } : {}), facts },
  };
  await ctx.metadata.createUpload(req.bucketRecord!, upload);
  return {
    headers: { "x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": type, ...encryptionHeaders(upload) },
    xml: { root: "InitiateMultipartUploadResult", value: { Bucket: bucket.name, Key: req.key!, UploadId: upload.uploadId } },
  };
};

/**
 * The part checksum to compute: the upload's algorithm when it has one (every part of such an
 * upload carries a checksum, whether or not the client sent one), else whatever the client sent.
 */
function partAlgorithm(req: S3Request, upload: UploadRecord): ChecksumAlgorithm | undefined {
  const declared = declaredChecksumAlgorithm(req.headers);
  const expected = upload.checksumAlgorithm as ChecksumAlgorithm | undefined;
  if (expected && declared && declared !== expected) {
    throw new S3Error(
      "InvalidRequest",
      `Checksum Type mismatch occurred, expected checksum Type: ${expected.toLowerCase()}, actual checksum Type: ${declared.toLowerCase()}`,
    );
  }
  return expected ?? declared;
}

/** Records a received part; frees its blob if that fails and the blob of a part it replaces. */
async function storePart(ctx: ServerContext, bucket: BucketRef, upload: UploadRecord, partNumber: number, stored: StoredBody, alg: ChecksumAlgorithm | undefined) {
  if (stored.body.kind !== "blob") throw new Error("parts are always received into a blob");
  const part: PartRecord = {
    uploadId: upload.uploadId,
    partNumber,
    size: stored.size,
    etag: `"${stored.md5.toString("hex")}"`,
    lastModified: ctx.clock.now(),
    blobId: stored.body.blobId,
    // Only a checksum in the upload's algorithm goes into the object's checksum at completion.
    checksum: upload.checksumAlgorithm ? stored.checksums[upload.checksumAlgorithm as ChecksumAlgorithm] : undefined,
  };
  let replaced: PartRecord | undefined;
  try {
    ({ replaced } = await ctx.metadata.putPart(bucket, part));
  } catch (err) {
    releaseBodies(ctx, [{ body: stored.body }], 0);
    throw noSuchUploadFrom(err, upload.uploadId);
  }
  if (replaced) releaseBodies(ctx, [partBody(replaced)]);
  return { part, checksum: alg ? stored.checksums[alg] : undefined };
}

/** What seals a part of this upload: the upload's encryption (SSE-C: with the key the request repeats). */
async function partWrapping(req: S3Request, ctx: ServerContext, upload: UploadRecord): Promise<Wrapping | undefined> {
  const enc = upload.extra.encryption as StoredEncryption | undefined;
  const customer = customerKey(req.headers, CUSTOMER);
  if (!enc) {
    if (customer) throw new S3Error("InvalidRequest", "The encryption parameters are not applicable to this upload.");
    return undefined;
  }
  if (enc.kind !== "SSE-C" && customer) throw new S3Error("InvalidRequest", "The encryption parameters are not applicable to this upload.");
  return wrappingOf(ctx, enc, customer);
}

function partBody(p: PartRecord) {
  return { body: { kind: "blob" as const, blobId: p.blobId } };
}

export const uploadPart: Handler = async (req, ctx) => {
  const partNumber = parsePartNumber(req.query.get("partNumber")!);
  const upload = await addressedUpload(req, ctx);
  beforePartUpload(req, upload);
  const md5Expected = expectedMd5(req.headers);
  checkContentLength(req);
  const alg = partAlgorithm(req, upload);
  const seal = await partWrapping(req, ctx, upload);
  const stored = await receiveBody(req.body, {
    blobs: ctx.blobs,
    inlineMaxBytes: 0,
    toBlob: true,
    checksumAlgorithms: alg ? [alg] : [],
    expectedSize: req.contentLength,
    seal,
  });
  try {
    if (md5Expected && !md5Expected.equals(stored.md5)) throw new S3Error("BadDigest");
    if (alg) checkDeclaredChecksum(req, alg, stored);
  } catch (err) {
    releaseBodies(ctx, [{ body: stored.body }], 0);
    throw err;
  }
  const { part, checksum } = await storePart(ctx, req.bucketRecord!, upload, partNumber, stored, alg);
  return {
    headers: { ETag: part.etag, ...(alg && checksum ? { [ChecksumAlgorithms[alg].header]: checksum } : {}), ...encryptionHeaders(upload) },
  };
};

/** x-amz-copy-source-range: "bytes=first-last", both offsets given and inside the source. */
function copySourceRange(raw: string | undefined, size: number): { start: number; end: number } | undefined {
  if (raw === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(raw.trim());
  if (!m || Number(m[1]) > Number(m[2])) {
    throw new S3Error(
      "InvalidArgument",
      "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
      { ArgumentName: "x-amz-copy-source-range", ArgumentValue: raw },
    );
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end >= size) {
    throw new S3Error("InvalidArgument", `Range specified is not valid for source object of size: ${size}`, {
      ArgumentName: "x-amz-copy-source-range",
      ArgumentValue: raw,
    });
  }
  return { start, end };
}

export const uploadPartCopy: Handler = async (req, ctx) => {
  const partNumber = parsePartNumber(req.query.get("partNumber")!);
  const upload = await addressedUpload(req, ctx);
  const source = await resolveCopySource(req, ctx);
  ctx.hooks.beforeBodyRead(ctx, source.bucket, source.version);
  const range = copySourceRange(header(req.headers, "x-amz-copy-source-range"), source.version.size);
  const alg = upload.checksumAlgorithm as ChecksumAlgorithm | undefined;
  const sourceKeys = await readKeys(req, ctx, source.version.extra, COPY_SOURCE_CUSTOMER);
  const seal = await partWrapping(req, ctx, upload);
  const stored = await receiveBody(openBody(ctx.blobs, source.version.body!, source.version.size, range, sourceKeys), {
    blobs: ctx.blobs,
    inlineMaxBytes: 0,
    toBlob: true,
    checksumAlgorithms: alg ? [alg] : [],
    expectedSize: range ? range.end - range.start + 1 : source.version.size,
    seal,
  });
  const { part, checksum } = await storePart(ctx, req.bucketRecord!, upload, partNumber, stored, alg);
  return {
    headers: { "x-amz-copy-source-version-id": isVersioned(source.bucket) ? source.version.versionId : undefined, ...encryptionHeaders(upload) },
    xml: {
      root: "CopyPartResult",
      value: { ETag: part.etag, LastModified: part.lastModified.toISOString(), ...checksumElement(alg, checksum) },
    },
  };
};

interface ListedPart {
  partNumber: number;
  etag: string;
  checksum?: string;
}

/** The <Part> list of a CompleteMultipartUpload body, in the order given. */
function parseCompleteBody(body: Buffer, alg: ChecksumAlgorithm | undefined): ListedPart[] {
  const doc = parseXml(body, "CompleteMultipartUpload");
  const nodes = asArray(doc.Part as XmlNode | XmlNode[] | undefined);
  if (nodes.length === 0 || nodes.length > MAX_PARTS) throw new S3Error("MalformedXML");
  return nodes.map((node) => {
    if (typeof node !== "object") throw new S3Error("MalformedXML");
    const number = textOf(node, "PartNumber")?.trim();
    const etag = textOf(node, "ETag");
    if (number === undefined || !/^\d+$/.test(number) || etag === undefined) throw new S3Error("MalformedXML");
    return { partNumber: parsePartNumber(number), etag: unquote(etag), checksum: alg ? textOf(node, "Checksum" + alg)?.trim() : undefined };
  });
}

function unquote(etag: string): string {
  return etag.trim().replace(/^"|"$/g, "");
}

/**
 * Looks up stored parts by ascending part number, a page at a time, so that checking a 10,000-part
 * Complete request never holds more than one page of part records besides the ones it keeps.
 */
function partCursor(ctx: ServerContext, uploadId: string): (partNumber: number) => Promise<PartRecord | undefined> {
  let page: PartRecord[] = [];
  let i = 0;
  let exhausted = false;
  return async (partNumber) => {
    for (;;) {
      while (i < page.length && page[i]!.partNumber < partNumber) i++;
      if (i < page.length) return page[i]!.partNumber === partNumber ? page[i] : undefined;
      if (exhausted) return undefined;
      const after = page.length > 0 ? page[page.length - 1]!.partNumber : 0;
      page = await ctx.metadata.listParts(uploadId, after, MAX_LIST);
      i = 0;
      exhausted = page.length < MAX_LIST;
    }
  };
}

/** The object checksum a completed upload gets from its parts' checksums. */
function objectChecksum(alg: ChecksumAlgorithm, type: ChecksumType) {
  const composite = type === "COMPOSITE" ? createChecksum(alg) : undefined;
  const full = type === "FULL_OBJECT" && isCombinable(alg) ? new CrcCombiner(alg) : undefined;
  let count = 0;
  return {
    add(partChecksum: string, size: number) {
      const digest = Buffer.from(partChecksum, "base64");
      composite?.update(digest);
      full?.append(digest, size);
      count++;
    },
    /** COMPOSITE: the checksum of the concatenated part checksums, "-N" appended, as S3 shows it. */
    value(): string {
      return composite ? `${composite.digest().toString("base64")}-${count}` : full!.digest().toString("base64");
    },
  };
}

/**
 * The SSE-C headers of a completion: S3 needs them for an SSE-C upload made with a checksum
 * algorithm (its CompleteMultipartUpload reference), and whenever they are sent they must repeat
 * the upload's key; on an upload that is not SSE-C they are refused, as on its parts.
 */
async function checkCompletionKey(req: S3Request, ctx: ServerContext, upload: UploadRecord, alg: ChecksumAlgorithm | undefined): Promise<void> {
  const enc = upload.extra.encryption as StoredEncryption | undefined;
  const customer = customerKey(req.headers, CUSTOMER);
  if (enc?.kind === "SSE-C") {
    if (customer || alg) await wrappingOf(ctx, enc, customer);
  } else if (customer) {
    throw new S3Error("InvalidRequest", "The encryption parameters are not applicable to this upload.");
  }
}

/** Where a completed upload's id is kept on the version it made, so a retried completion finds it. */
const COMPLETED_UPLOAD = "completedUploadId";

/**
 * A completion retried after it succeeded (its answer lost to a timeout, say) gets the first
 * answer again, as on S3, while the version the upload made is still the key's current one;
 * later, or once the key has moved on, the upload is gone: NoSuchUpload.
 */
async function retriedCompletion(req: S3Request, ctx: ServerContext, uploadId: string): Promise<S3Result | undefined> {
  if (uploadId === "") return undefined;
  const latest = await ctx.metadata.getLatest(req.bucketRecord!.name, req.key!);
  if (!latest || latest.isDeleteMarker || latest.extra[COMPLETED_UPLOAD] !== uploadId) return undefined;
  return completionAnswer(req, ctx, latest);
}

async function completionAnswer(req: S3Request, ctx: ServerContext, record: ObjectVersionRecord | NewVersion): Promise<S3Result> {
  const bucket = req.bucketRecord!;
  const stored = record.extra.checksum as StoredChecksum | undefined;
  const host = header(req.headers, "host") ?? "localhost";
  return {
    headers: {
      "x-amz-version-id": writtenVersionId(bucket, record.versionId),
      ...encryptionHeaders(record),
      ...(await writeResponseHeaders(ctx, bucket, record)),
    },
    xml: {
      root: "CompleteMultipartUploadResult",
      value: {
        Location: `http://${host}/${bucket.name}/${req.key!.split("/").map(encodeURIComponent).join("/")}`,
        Bucket: bucket.name,
        Key: req.key!,
        ETag: record.etag,
        ...(stored ? { ["Checksum" + stored.algorithm]: stored.value, ChecksumType: stored.type } : {}),
      },
    },
  };
}

export const completeMultipartUpload: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const uploadId = req.query.get("uploadId") ?? "";
  let upload: UploadRecord;
  try {
    upload = await addressedUpload(req, ctx);
  } catch (err) {
    const retried = await retriedCompletion(req, ctx, uploadId);
    if (retried) return retried;
    throw err;
  }
  const alg = upload.checksumAlgorithm as ChecksumAlgorithm | undefined;
  const type = upload.checksumType ?? "COMPOSITE";
  const requestedType = header(req.headers, "x-amz-checksum-type")?.toUpperCase();
  if (requestedType !== undefined && (alg === undefined || requestedType !== type)) {
    throw new S3Error(
      "InvalidRequest",
      alg === undefined
        ? "The upload was created without a checksum algorithm: the complete request cannot name a checksum type."
        : `The upload was created using the ${type} checksum type. The complete request must use the same checksum type.`,
    );
  }
  await checkCompletionKey(req, ctx, upload, alg);
  const condition = writeCondition(req);
  if (condition) condition(await ctx.metadata.getLatest(bucket.name, req.key!));
  const listed = parseCompleteBody(await readBody(req.body, COMPLETE_BODY_LIMIT), alg);
  for (let i = 1; i < listed.length; i++) if (listed[i]!.partNumber <= listed[i - 1]!.partNumber) throw new S3Error("InvalidPartOrder");

  const find = partCursor(ctx, upload.uploadId);
  const parts: BodyPart[] = [];
  const etagOfParts = createHash("md5");
  const checksum = alg ? objectChecksum(alg, type) : undefined;
  let size = 0;
  for (const [i, want] of listed.entries()) {
    const have = await find(want.partNumber);
    const details = { UploadId: upload.uploadId, PartNumber: want.partNumber, ETag: want.etag };
    if (!have || unquote(have.etag) !== want.etag) throw new S3Error("InvalidPart", undefined, details);
    if (i < listed.length - 1 && have.size < MIN_PART_BYTES) {
      throw new S3Error("EntityTooSmall", undefined, { ...details, ProposedSize: have.size, MinSizeAllowed: MIN_PART_BYTES });
    }
    if (alg) {
      // A COMPOSITE checksum is only as good as the client's own list of part checksums.
      if (want.checksum === undefined && type === "COMPOSITE") {
        throw new S3Error(
          "InvalidRequest",
          `The upload was created using a ${alg.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${want.partNumber} in the request.`,
        );
      }
      if (want.checksum !== undefined && want.checksum !== have.checksum) {
        throw new S3Error("InvalidPart", `The ${alg.toLowerCase()} checksum of part ${want.partNumber} does not match the part's checksum.`, details);
      }
      checksum!.add(have.checksum!, have.size);
    }
    etagOfParts.update(Buffer.from(unquote(have.etag), "hex"));
    size += have.size;
    parts.push({ partNumber: have.partNumber, blobId: have.blobId, size: have.size, ...(alg ? { checksum: have.checksum } : {}) });
  }
  if (size > MAX_MULTIPART_OBJECT_BYTES) throw new S3Error("EntityTooLarge");

  let stored: StoredChecksum | undefined;
  if (alg) {
    stored = { algorithm: alg, value: checksum!.value(), type };
    const declared = header(req.headers, ChecksumAlgorithms[alg].header);
    if (declared !== undefined && declared.trim() !== stored.value && `${declared.trim()}-${parts.length}` !== stored.value) {
      throw new S3Error("BadDigest", `The ${alg} you specified did not match the calculated checksum.`);
    }
  }
  const partsMd5 = etagOfParts.digest();
  const record = {
    // "md5": the digest of the parts' digests, which S3's multipart ETag shows with "-N".
    ...newObjectVersion(
      req,
      ctx,
      bucket,
      { size, md5: partsMd5, body: { kind: "parts", parts }, checksums: {} },
      {
        storageClass: upload.storageClass,
        content: { contentType: upload.contentType ?? "binary/octet-stream", contentHeaders: upload.contentHeaders, userMetadata: upload.userMetadata },
        checksum: stored,
        partsCount: parts.length,
        etag: `"${partsMd5.toString("hex")}-${parts.length}"`,
        encryption: upload.extra.encryption as StoredEncryption | undefined,
        // Uploads begun before these facts were kept belong to their initiator, with no others.
        facts: (upload.extra.facts as RequestFacts | undefined) ?? { extra: {}, ownerAccountId: upload.ownerAccountId },
      },
    ),
    // S3 dates a multipart object by the start of its upload.
    lastModified: upload.initiated,
  };
  record.extra[COMPLETED_UPLOAD] = upload.uploadId;
  let result;
  try {
    result = await commitVersions(ctx, bucket, [record], ([r]) => ctx.metadata.completeUpload(bucket, upload.uploadId, r!, condition));
  } catch (err) {
    // Completed concurrently by a twin of this request: it gets the twin's answer.
    const lostRace = err instanceof Error && err.message === "NoSuchUpload";
    const retried = lostRace ? await retriedCompletion(req, ctx, upload.uploadId) : undefined;
    if (retried) return retried;
    throw noSuchUploadFrom(err, upload.uploadId);
  }
  // Parts uploaded but not listed are discarded, as on S3.
  const used = new Set(parts.map((p) => p.blobId));
  releaseBodies(ctx, result.parts.filter((p) => !used.has(p.blobId)).map(partBody), 0);
  return completionAnswer(req, ctx, record);
};

export const abortMultipartUpload: Handler = async (req, ctx) => {
  const upload = await addressedUpload(req, ctx);
  const parts = await ctx.metadata.deleteUpload(upload.uploadId);
  if (parts === undefined) throw new S3Error("NoSuchUpload", undefined, { UploadId: upload.uploadId });
  // No object references an aborted upload's parts: they can go at once.
  releaseBodies(ctx, parts.map(partBody), 0);
  return { status: 204 };
};

/** A non-negative integer query parameter (a page size or a part-number marker). */
function intParam(req: S3Request, name: string, fallback: number): number {
  const raw = req.query.get(name);
  if (raw === null) return fallback;
  if (!/^\d{1,9}$/.test(raw)) {
    throw new S3Error("InvalidArgument", `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: raw });
  }
  return Number(raw);
}

export const listParts: Handler = async (req, ctx) => {
  const upload = await addressedUpload(req, ctx);
  const maxParts = Math.min(MAX_LIST, intParam(req, "max-parts", MAX_LIST));
  const marker = intParam(req, "part-number-marker", 0);
  const found = await ctx.metadata.listParts(upload.uploadId, marker, maxParts + 1);
  const page = found.slice(0, maxParts);
  const truncated = found.length > page.length;
  const owner = await ownerLookup(ctx, [upload.ownerAccountId, futureOwner(upload)]);
  const alg = upload.checksumAlgorithm as ChecksumAlgorithm | undefined;
  return {
    xml: {
      root: "ListPartsResult",
      value: {
        Bucket: upload.bucket,
        Key: upload.key,
        UploadId: upload.uploadId,
        PartNumberMarker: marker,
        NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.partNumber : marker,
        MaxParts: maxParts,
        IsTruncated: truncated,
        Part: page.map((p) => ({
          PartNumber: p.partNumber,
          LastModified: p.lastModified.toISOString(),
          ETag: p.etag,
          Size: p.size,
          ...checksumElement(alg, p.checksum),
        })),
        Initiator: owner(upload.ownerAccountId),
        Owner: owner(futureOwner(upload)),
        StorageClass: upload.storageClass,
        ChecksumAlgorithm: alg,
        ChecksumType: upload.checksumType,
      },
    },
  };
};

interface UploadsPage {
  uploads: UploadRecord[];
  commonPrefixes: string[];
  truncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

/**
 * Walks the bucket's unfinished uploads after the markers (by key, then initiation), folding keys
 * into common prefixes when a delimiter is given, until `max` entries are gathered.
 */
async function uploadsPage(
  ctx: ServerContext,
  bucket: string,
  prefix: string,
  delimiter: string,
  keyMarker: string,
  uploadIdMarker: string,
  max: number,
): Promise<UploadsPage> {
  const uploads: UploadRecord[] = [];
  const commonPrefixes: string[] = [];
  if (max === 0) return { uploads, commonPrefixes, truncated: false };
  let cursorKey = keyMarker === "" ? undefined : keyMarker;
  // S3 ignores upload-id-marker without key-marker.
  let cursorId = cursorKey !== undefined && uploadIdMarker !== "" ? uploadIdMarker : undefined;
  let lastKey: string | undefined;
  let lastId: string | undefined;
  const limit = Math.min(MAX_LIST, max + 1);
  for (;;) {
    const batch = await ctx.metadata.listUploads({ bucket, prefix, keyMarker: cursorKey, uploadIdMarker: cursorId, limit });
    let jumped = false;
    for (const u of batch) {
      if (uploads.length + commonPrefixes.length === max) {
        return { uploads, commonPrefixes, truncated: true, nextKeyMarker: lastKey, nextUploadIdMarker: lastId };
      }
      const at = delimiter === "" ? -1 : u.key.indexOf(delimiter, prefix.length);
      if (at !== -1) {
        const common = u.key.slice(0, at + delimiter.length);
        // A prefix at or before the key marker was returned by an earlier page.
        if (keyMarker === "" || compareUtf8(common, keyMarker) > 0) {
          commonPrefixes.push(common);
          lastKey = common;
          lastId = undefined;
        }
        // Step over every other upload under this prefix with one seek.
        cursorKey = common + PAST_PREFIX;
        cursorId = undefined;
        jumped = true;
        break;
      }
      uploads.push(u);
      lastKey = cursorKey = u.key;
      lastId = cursorId = u.uploadId;
    }
    if (!jumped && batch.length < limit) return { uploads, commonPrefixes, truncated: false };
  }
}

export const listMultipartUploads: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const enc = listEncoder(req);
  const prefix = req.query.get("prefix") ?? "";
  const delimiter = req.query.get("delimiter") ?? "";
  const keyMarker = req.query.get("key-marker") ?? "";
  const uploadIdMarker = req.query.get("upload-id-marker") ?? "";
  const maxUploads = Math.min(MAX_LIST, intParam(req, "max-uploads", MAX_LIST));
  const page = await uploadsPage(ctx, bucket.name, prefix, delimiter, keyMarker, uploadIdMarker, maxUploads);
  const owner = await ownerLookup(ctx, page.uploads.flatMap((u) => [u.ownerAccountId, futureOwner(u)]));
  return {
    xml: {
      root: "ListMultipartUploadsResult",
      value: {
        Bucket: bucket.name,
        KeyMarker: enc(keyMarker),
        UploadIdMarker: uploadIdMarker,
        NextKeyMarker: page.truncated && page.nextKeyMarker !== undefined ? enc(page.nextKeyMarker) : undefined,
        NextUploadIdMarker: page.truncated ? (page.nextUploadIdMarker ?? "") : undefined,
        Delimiter: delimiter === "" ? undefined : enc(delimiter),
        Prefix: enc(prefix),
        MaxUploads: maxUploads,
        EncodingType: req.query.get("encoding-type") ?? undefined,
        IsTruncated: page.truncated,
        Upload: page.uploads.map((u) => ({
          Key: enc(u.key),
          UploadId: u.uploadId,
          Initiator: owner(u.ownerAccountId),
          Owner: owner(futureOwner(u)),
          StorageClass: u.storageClass,
          Initiated: u.initiated.toISOString(),
          ChecksumAlgorithm: u.checksumAlgorithm,
          ChecksumType: u.checksumType,
        })),
        CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
      },
    },
  };
};
