// Path-style and virtual-hosted addressing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resolveAddress } from "./addressing.js";
import { S3Error } from "../errors.js";

const DOMAINS = ["localhost", "s3.example.test"];

describe("resolveAddress", () => {
  it("reads bucket and key from a path-style URL", () => {
    const a = resolveAddress("/my-bucket/dir/file%20name.txt?versionId=3", "127.0.0.1:9000", DOMAINS);
    assert.equal(a.bucket, "my-bucket");
    assert.equal(a.key, "dir/file name.txt");
    assert.equal(a.query.get("versionId"), "3");
  });

  it("reads the bucket from the host for virtual-hosted style", () => {
    const a = resolveAddress("/photos/cat.jpg", "my-bucket.localhost:9000", DOMAINS);
    assert.equal(a.bucket, "my-bucket");
    assert.equal(a.key, "photos/cat.jpg");
    const b = resolveAddress("/?list-type=2", "dotted.bucket.s3.example.test", DOMAINS);
    assert.equal(b.bucket, "dotted.bucket");
    assert.equal(b.key, undefined);
  });

  it("treats the bare base domain and IP hosts as path-style", () => {
    assert.equal(resolveAddress("/", "localhost:9000", DOMAINS).bucket, undefined);
    assert.equal(resolveAddress("/b", "[::1]:9000", DOMAINS).bucket, "b");
  });

  it("keeps dot segments and slashes inside keys as part of the key", () => {
    const a = resolveAddress("/b/../../etc/passwd", "localhost", DOMAINS);
    assert.equal(a.bucket, "b");
    assert.equal(a.key, "../../etc/passwd");
    assert.equal(resolveAddress("/b//double", "localhost", DOMAINS).key, "/double");
  });

  it("treats a trailing slash after the bucket as the bucket itself", () => {
    const a = resolveAddress("/b/", "localhost", DOMAINS);
    assert.equal(a.bucket, "b");
    assert.equal(a.key, undefined);
  });

  it("refuses malformed percent-encoding and over-long keys", () => {
    assert.throws(() => resolveAddress("/b/%E0%A4%A", "localhost", DOMAINS), (e: unknown) => e instanceof S3Error && e.code === "InvalidURI");
    assert.throws(() => resolveAddress("/b/%ED%A0%80", "localhost", DOMAINS), (e: unknown) => e instanceof S3Error && e.code === "InvalidURI");
    // The bytes of s3-tests' "unreadable" key, which S3 answers with this 400 (gaul/s3proxy#201).
    assert.throws(() => resolveAddress("/b/%AE%8A-", "localhost", DOMAINS), (e: unknown) => e instanceof S3Error && e.code === "InvalidURI");
    assert.throws(() => resolveAddress("/b/" + "k".repeat(1025), "localhost", DOMAINS), (e: unknown) => e instanceof S3Error && e.code === "KeyTooLongError");
  });
});
