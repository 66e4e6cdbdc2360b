// Object and bucket tagging: Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging, the
// x-amz-tagging header of PutObject and CreateMultipartUpload, CopyObject's
// x-amz-tagging-directive, and the x-amz-tagging-count header of GET and HEAD.
// An object's tags are kept in its version's `extra.tags` as an ordered list of [key, value].
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html
import { S3Error } from "../errors.js";
import { asArray, elementOf, parseXml, type XmlNode } from "../xml/codec.js";
import type { Handler, S3Request } from "./types.js";
import type { ObjectVersionRecord } from "../storage/types.js";
import { readChecksummedBody } from "./checksummed-body.js";
import { addressedVersion, checkDecidedTags, header, isVersioned } from "./request.js";
import { parseTagElement, tagsOf, validateTags, type Tag } from "../core/tags.js";

const TAG_BODY_LIMIT = 64 * 1024;
const BUCKET_TAGGING_KIND = "tagging";

/** `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>`, unvalidated. */
export function parseTagging(body: Buffer): Tag[] {
  const doc = parseXml(body, "Tagging");
  const tagSet = elementOf(doc, "TagSet");
  if (tagSet === undefined) throw new S3Error("MalformedXML");
  return asArray(tagSet.Tag as XmlNode | XmlNode[] | undefined).map(parseTagElement);
}

/**
 * A tag set is a set: S3 documents no order for it. Answering in key order makes the answer the
 * same however the tags were sent (an x-amz-tagging header or a body), as clients comparing lists expect.
 */
function tagSetXml(tags: readonly Tag[]): { TagSet: { Tag: { Key: string; Value: string }[] } } {
  const sorted = [...tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { TagSet: { Tag: sorted.map(([Key, Value]) => ({ Key, Value })) } };
}

/** x-amz-tagging: URL-query encoded "k1=v1&k2=v2". */
export function parseTaggingHeader(raw: string): Tag[] {
  const tags: Tag[] = [];
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const at = part.indexOf("=");
    const [rawKey, rawValue] = at === -1 ? [part, ""] : [part.slice(0, at), part.slice(at + 1)];
    try {
      tags.push([decodeURIComponent(rawKey.replace(/\+/g, " ")), decodeURIComponent(rawValue.replace(/\+/g, " "))]);
    } catch {
      throw new S3Error("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", {
        ArgumentName: "x-amz-tagging",
        ArgumentValue: raw,
      });
    }
  }
  return tags;
}

/** CopyObject's x-amz-tagging-directive: COPY (the default) keeps the source's tags, REPLACE takes x-amz-tagging. */
export function taggingDirective(headers: S3Request["headers"]): "COPY" | "REPLACE" {
  const directive = header(headers, "x-amz-tagging-directive") ?? "COPY";
  if (directive !== "COPY" && directive !== "REPLACE") {
    throw new S3Error("InvalidArgument", "Unknown tagging directive.", { ArgumentName: "x-amz-tagging-directive", ArgumentValue: directive });
  }
  return directive;
}

/**
 * The tags a write gives its new version, validated: x-amz-tagging, or for CopyObject the source's
 * tags unless x-amz-tagging-directive is REPLACE. Bucket policies see these same tags
 * (s3:RequestObjectTag), so what a policy allows is what is stored.
 */
export function writeTags(headers: S3Request["headers"], copySource?: ObjectVersionRecord): readonly Tag[] {
  const keepsSource = copySource !== undefined && taggingDirective(headers) === "COPY";
  const tags = keepsSource ? tagsOf(copySource.extra) : parseTaggingHeader(header(headers, "x-amz-tagging") ?? "");
  validateTags(tags, "object");
  return tags;
}

/** A write's tags among the facts of its new version (requestFacts). */
export function tagFactsForWrite(req: S3Request, copySource?: ObjectVersionRecord): Record<string, unknown> {
  const tags = writeTags(req.headers, copySource);
  return tags.length > 0 ? { tags } : {};
}

export function taggingHeaders(v: ObjectVersionRecord): Record<string, string> {
  const n = tagsOf(v.extra).length;
  return n > 0 ? { "x-amz-tagging-count": String(n) } : {};
}

function versionHeader(req: S3Request, v: ObjectVersionRecord): Record<string, string | undefined> {
  return { "x-amz-version-id": isVersioned(req.bucketRecord!) ? v.versionId : undefined };
}

/** Replaces the addressed version's tags in one atomic update; NoSuchKey/NoSuchVersion if it went meanwhile. */
async function setTags(req: S3Request, ctx: Parameters<Handler>[1], tags: readonly Tag[]): Promise<ObjectVersionRecord> {
  const v = await addressedVersion(req, ctx);
  const updated = await ctx.metadata.updateVersion(req.bucketRecord!, v.key, v.versionId, (current) => {
    checkDecidedTags(req, current);
    const { tags: _old, ...rest } = current.extra;
    return { extra: tags.length > 0 ? { ...rest, tags } : rest };
  });
  if (!updated) {
    throw req.query.has("versionId") ? new S3Error("NoSuchVersion", undefined, { Key: req.key, VersionId: v.versionId }) : new S3Error("NoSuchKey", undefined, { Key: req.key });
  }
  return updated;
}

export const putObjectTagging: Handler = async (req, ctx) => {
  const tags = parseTagging(await readChecksummedBody(req, TAG_BODY_LIMIT));
  validateTags(tags, "object");
  await req.authorizeRequestTags?.(tags);
  const v = await setTags(req, ctx, tags);
  return { headers: versionHeader(req, v) };
};

export const getObjectTagging: Handler = async (req, ctx) => {
  const v = await addressedVersion(req, ctx);
  return { headers: versionHeader(req, v), xml: { root: "Tagging", value: tagSetXml(tagsOf(v.extra)) } };
};

export const deleteObjectTagging: Handler = async (req, ctx) => {
  const v = await setTags(req, ctx, []);
  return { status: 204, headers: versionHeader(req, v) };
};

export const putBucketTagging: Handler = async (req, ctx) => {
  const tags = parseTagging(await readChecksummedBody(req, TAG_BODY_LIMIT));
  validateTags(tags, "bucket");
  await ctx.settings.put(req.bucketRecord!, BUCKET_TAGGING_KIND, tags);
  return { status: 204 };
};

export const getBucketTagging: Handler = async (req, ctx) => {
  const tags = await ctx.settings.get<Tag[]>(req.bucketRecord!.name, BUCKET_TAGGING_KIND);
  if (tags === undefined) throw new S3Error("NoSuchTagSet", undefined, { BucketName: req.bucketRecord!.name });
  return { xml: { root: "Tagging", value: tagSetXml(tags) } };
};

export const deleteBucketTagging: Handler = async (req, ctx) => {
  await ctx.settings.delete(req.bucketRecord!, BUCKET_TAGGING_KIND);
  return { status: 204 };
};
