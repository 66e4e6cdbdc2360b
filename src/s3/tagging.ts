// Object and bucket tagging: Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging, the
// x-amz-tagging header of PutObject and CreateMultipartUpload, CopyObject's
// x-amz-tagging-directive, and the x-amz-tagging-count header of GET and HEAD.
// An object's tags are kept in its version's `extra.tags` as an ordered list of [key, value].
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html
import { S3Error } from "../errors.js";
import { asArray, elementOf, parseXml, textOf, type XmlNode } from "../xml/codec.js";
import type { Handler, S3Request } from "../server/types.js";
import type { ObjectVersionRecord } from "../storage/types.js";
import { readChecksummedBody } from "./checksummed-body.js";
import { addressedVersion, header, isVersioned } from "./objects.js";

export type Tag = [key: string, value: string];

const MAX_OBJECT_TAGS = 10;
const MAX_BUCKET_TAGS = 50;
const MAX_KEY_CHARS = 128;
const MAX_VALUE_CHARS = 256;
const TAG_BODY_LIMIT = 64 * 1024;
/** Letters, digits and spaces in any script, and + - = . _ : / @ (S3's tag character set). */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const BUCKET_TAGGING_KIND = "tagging";

/** Length in Unicode characters, as S3 counts tag limits (not UTF-16 units, not bytes). */
function chars(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Checks a tag set as S3 does for an object ("object") or a bucket ("bucket"). */
export function validateTags(tags: readonly Tag[], of: "object" | "bucket"): void {
  if (of === "object" && tags.length > MAX_OBJECT_TAGS) throw new S3Error("BadRequest", "Object tags cannot be greater than 10");
  if (of === "bucket" && tags.length > MAX_BUCKET_TAGS) throw new S3Error("InvalidTag", "Bucket tag count cannot be greater than 50");
  const seen = new Set<string>();
  for (const [key, value] of tags) {
    if (chars(key) > MAX_KEY_CHARS) throw new S3Error("InvalidTag", "The TagKey you have provided is too long, max 128", { TagKey: key });
    if (chars(value) > MAX_VALUE_CHARS) throw new S3Error("InvalidTag", "The TagValue you have provided is too long, max 256", { TagKey: key, TagValue: value });
    if (key === "" || !TAG_CHARS.test(key)) throw new S3Error("InvalidTag", "The TagKey you have provided is invalid", { TagKey: key });
    if (!TAG_CHARS.test(value)) throw new S3Error("InvalidTag", "The TagValue you have provided is invalid", { TagKey: key, TagValue: value });
    if (key.toLowerCase().startsWith("aws:")) throw new S3Error("InvalidTag", "System tags cannot be added/updated by requester", { TagKey: key });
    if (seen.has(key)) throw new S3Error("InvalidTag", "Cannot provide multiple Tags with the same key", { TagKey: key });
    seen.add(key);
  }
}

/** The tags of a version as stored (none when it has no `extra.tags`). */
export function tagsOf(extra: Record<string, unknown>): readonly Tag[] {
  return (extra.tags as Tag[] | undefined) ?? [];
}

/** `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>`, unvalidated. */
export function parseTagging(body: Buffer): Tag[] {
  const doc = parseXml(body, "Tagging");
  const tagSet = elementOf(doc, "TagSet");
  if (tagSet === undefined) throw new S3Error("MalformedXML");
  return asArray(tagSet.Tag as XmlNode | XmlNode[] | undefined).map(parseTagElement);
}

/** One `<Tag><Key/><Value/></Tag>` element (lifecycle filters use the same shape). */
export function parseTagElement(node: XmlNode): Tag {
  if (typeof node !== "object") throw new S3Error("MalformedXML");
  const key = textOf(node, "Key");
  const value = textOf(node, "Value");
  if (key === undefined || value === undefined) throw new S3Error("MalformedXML");
  return [key, value];
}

function tagSetXml(tags: readonly Tag[]): { TagSet: { Tag: { Key: string; Value: string }[] } } {
  return { TagSet: { Tag: tags.map(([Key, Value]) => ({ Key, Value })) } };
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

/**
 * The tags a write gives its new version: x-amz-tagging, or for CopyObject the source's tags unless
 * x-amz-tagging-directive is REPLACE.
 */
export function tagFactsForWrite(req: S3Request, copySource?: ObjectVersionRecord): Record<string, unknown> {
  const raw = header(req.headers, "x-amz-tagging");
  let tags: readonly Tag[];
  if (copySource !== undefined) {
    const directive = header(req.headers, "x-amz-tagging-directive") ?? "COPY";
    if (directive !== "COPY" && directive !== "REPLACE") {
      throw new S3Error("InvalidArgument", "Unknown tagging directive.", { ArgumentName: "x-amz-tagging-directive", ArgumentValue: directive });
    }
    tags = directive === "COPY" ? tagsOf(copySource.extra) : parseTaggingHeader(raw ?? "");
  } else {
    tags = parseTaggingHeader(raw ?? "");
  }
  validateTags(tags, "object");
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
