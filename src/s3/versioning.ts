// Bucket versioning: PutBucketVersioning, GetBucketVersioning and ListObjectVersions. How writes
// and deletes create versions and delete markers lives with the object operations (objects.ts);
// this module owns the bucket's state and the version listing.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html
import { compareUtf8 } from "../utf8.js";
import { checkVersioningChange } from "./capability-hooks.js";
import { S3Error } from "../errors.js";
import { parseXml, readBody, textOf } from "../xml/codec.js";
import type { Handler, ServerContext } from "./types.js";
import type { ObjectVersionRecord } from "../storage/types.js";
import { storedChecksum } from "./object-headers.js";
import { PAST_PREFIX, listEncoder, maxKeysOf, ownerLookup } from "./listing.js";

export const putBucketVersioning: Handler = async (req, ctx) => {
  const doc = parseXml(await readBody(req.body, 64 * 1024), "VersioningConfiguration");
  const status = textOf(doc, "Status");
  const mfaDelete = textOf(doc, "MfaDelete");
  if (status !== undefined && status !== "Enabled" && status !== "Suspended") throw new S3Error("MalformedXML");
  if (mfaDelete !== undefined && mfaDelete !== "Enabled" && mfaDelete !== "Disabled") throw new S3Error("MalformedXML");
  if (mfaDelete === "Enabled") throw new S3Error("NotImplemented", "MFA delete is not supported by Stocktake.");
  if (status !== undefined) {
    await checkVersioningChange(ctx, req.bucketRecord!, status);
    await ctx.metadata.updateBucket(req.bucketRecord!, { versioning: status });
  }
  return {};
};

export const getBucketVersioning: Handler = async (req) => {
  const status = req.bucketRecord!.versioning;
  return { xml: { root: "VersioningConfiguration", value: status ? { Status: status } : {} } };
};


interface VersionPage {
  entries: ObjectVersionRecord[];
  commonPrefixes: string[];
  truncated: boolean;
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}

async function listVersionPage(
  ctx: ServerContext,
  bucket: string,
  prefix: string,
  delimiter: string,
  keyMarker: string | undefined,
  versionIdMarker: string | undefined,
  maxKeys: number,
): Promise<VersionPage> {
  const entries: ObjectVersionRecord[] = [];
  const commonPrefixes: string[] = [];
  let cursorKey = keyMarker;
  let cursorVersion = versionIdMarker;
  let lastKey: string | undefined;
  let lastVersion: string | undefined;
  if (maxKeys === 0) return { entries, commonPrefixes, truncated: false };
  for (;;) {
    const batch = await ctx.metadata.listVersions({ bucket, prefix, keyMarker: cursorKey, versionIdMarker: cursorVersion, limit: Math.min(1000, maxKeys + 1) });
    if (batch.length === 0) return { entries, commonPrefixes, truncated: false };
    let skippedPrefix = false;
    for (const v of batch) {
      let common: string | undefined;
      if (delimiter !== "") {
        const at = v.key.indexOf(delimiter, prefix.length);
        if (at !== -1) common = v.key.slice(0, at + delimiter.length);
      }
      if (entries.length + commonPrefixes.length === maxKeys) {
        return { entries, commonPrefixes, truncated: true, nextKeyMarker: lastKey, nextVersionIdMarker: lastVersion };
      }
      if (common !== undefined && keyMarker !== undefined && compareUtf8(common, keyMarker) <= 0) {
        // This prefix was returned by an earlier page: step over all of its keys.
        cursorKey = common + PAST_PREFIX;
        cursorVersion = undefined;
        skippedPrefix = true;
        break;
      }
      if (common !== undefined) {
        commonPrefixes.push(common);
        lastKey = common;
        lastVersion = undefined;
        cursorKey = common + PAST_PREFIX;
        cursorVersion = undefined;
        skippedPrefix = true;
        break;
      }
      entries.push(v);
      lastKey = v.key;
      lastVersion = v.versionId;
      cursorKey = v.key;
      cursorVersion = v.versionId;
    }
    if (!skippedPrefix && batch.length < Math.min(1000, maxKeys + 1)) return { entries, commonPrefixes, truncated: false };
  }
}

export const listObjectVersions: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const enc = listEncoder(req);
  const prefix = req.query.get("prefix") ?? "";
  const delimiter = req.query.get("delimiter") ?? "";
  const keyMarker = req.query.get("key-marker") ?? undefined;
  const versionIdMarker = req.query.get("version-id-marker") ?? undefined;
  if (versionIdMarker !== undefined && keyMarker === undefined) {
    throw new S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.", { ArgumentName: "version-id-marker", ArgumentValue: versionIdMarker });
  }
  const maxKeys = maxKeysOf(req);
  const page = await listVersionPage(ctx, bucket.name, prefix, delimiter, keyMarker || undefined, versionIdMarker || undefined, maxKeys);
  const owner = await ownerLookup(ctx, page.entries.map((v) => v.ownerAccountId));
  const versions = page.entries.filter((v) => !v.isDeleteMarker);
  const markers = page.entries.filter((v) => v.isDeleteMarker);
  return {
    xml: {
      root: "ListVersionsResult",
      value: {
        Name: bucket.name,
        Prefix: enc(prefix),
        KeyMarker: enc(keyMarker ?? ""),
        VersionIdMarker: versionIdMarker ?? "",
        NextKeyMarker: page.truncated && page.nextKeyMarker !== undefined ? enc(page.nextKeyMarker) : undefined,
        NextVersionIdMarker: page.truncated ? page.nextVersionIdMarker : undefined,
        MaxKeys: maxKeys,
        Delimiter: delimiter === "" ? undefined : enc(delimiter),
        EncodingType: req.query.get("encoding-type") ?? undefined,
        IsTruncated: page.truncated,
        Version: versions.map((v) => {
          const sum = storedChecksum(v);
          return {
            Key: enc(v.key),
            VersionId: v.versionId,
            IsLatest: v.isLatest,
            LastModified: v.lastModified.toISOString(),
            ETag: v.etag,
            Size: v.size,
            StorageClass: v.storageClass,
            Owner: owner(v.ownerAccountId),
            ChecksumAlgorithm: sum?.algorithm,
            ChecksumType: sum?.type,
          };
        }),
        DeleteMarker: markers.map((v) => ({
          Key: enc(v.key),
          VersionId: v.versionId,
          IsLatest: v.isLatest,
          LastModified: v.lastModified.toISOString(),
          Owner: owner(v.ownerAccountId),
        })),
        CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
      },
    },
  };
};
