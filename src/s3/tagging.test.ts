// Tag validation and the x-amz-tagging header, as S3 checks them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { S3Error } from "../errors.js";
import { parseTagging, parseTaggingHeader } from "./tagging.js";
import { validateTags, type Tag } from "../core/tags.js";

function fails(tags: Tag[], of: "object" | "bucket", code: string, message: string): void {
  assert.throws(() => validateTags(tags, of), (e: unknown) => e instanceof S3Error && e.code === code && e.message === message);
}

describe("validateTags", () => {
  it("accepts ten object tags of maximal length in any script", () => {
    const tags: Tag[] = Array.from({ length: 10 }, (_, i) => [`k${i}-${"é".repeat(100)}`, "ü".repeat(256)]);
    validateTags(tags, "object");
  });
  it("refuses what S3 refuses", () => {
    fails(Array.from({ length: 11 }, (_, i): Tag => [`k${i}`, "v"]), "object", "BadRequest", "Object tags cannot be greater than 10");
    fails(Array.from({ length: 51 }, (_, i): Tag => [`k${i}`, "v"]), "bucket", "InvalidTag", "Bucket tag count cannot be greater than 50");
    fails([["k".repeat(129), "v"]], "object", "InvalidTag", "The TagKey you have provided is too long, max 128");
    fails([["k", "v".repeat(257)]], "object", "InvalidTag", "The TagValue you have provided is too long, max 256");
    fails([["k", "1"], ["k", "2"]], "object", "InvalidTag", "Cannot provide multiple Tags with the same key");
    fails([["", "v"]], "object", "InvalidTag", "The TagKey you have provided is invalid");
    fails([["k", "a*b"]], "object", "InvalidTag", "The TagValue you have provided is invalid");
    fails([["aws:x", "v"]], "bucket", "InvalidTag", "System tags cannot be added/updated by requester");
  });
});

describe("tag documents and headers", () => {
  it("reads a Tagging document in order", () => {
    const body = Buffer.from("<Tagging><TagSet><Tag><Key>b</Key><Value>2</Value></Tag><Tag><Key>a</Key><Value></Value></Tag></TagSet></Tagging>");
    assert.deepEqual(parseTagging(body), [["b", "2"], ["a", ""]]);
  });
  it("decodes x-amz-tagging as a URL query", () => {
    assert.deepEqual(parseTaggingHeader("project=blue%20sky&empty=&team=a+b"), [["project", "blue sky"], ["empty", ""], ["team", "a b"]]);
  });
});
