// Tags as the domain keeps them: a version's `extra.tags` and a bucket's tag set, an ordered list
// of [key, value], with S3's limits on what a tag may be. Tagging's operations are in
// src/s3/tagging.ts; lifecycle and replication filters and Intelligent-Tiering read tags here.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
import { S3Error } from "../errors.js";
import { textOf, type XmlNode } from "../xml/codec.js";

export type Tag = [key: string, value: string];

const MAX_OBJECT_TAGS = 10;
const MAX_BUCKET_TAGS = 50;
const MAX_KEY_CHARS = 128;
const MAX_VALUE_CHARS = 256;
/** Letters, digits and spaces in any script, and + - = . _ : / @ (S3's tag character set). */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

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

/** One `<Tag><Key/><Value/></Tag>` element (lifecycle filters use the same shape). */
export function parseTagElement(node: XmlNode): Tag {
  if (typeof node !== "object") throw new S3Error("MalformedXML");
  const key = textOf(node, "Key");
  const value = textOf(node, "Value");
  if (key === undefined || value === undefined) throw new S3Error("MalformedXML");
  return [key, value];
}
