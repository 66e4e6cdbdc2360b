// The catalog's pure rules: which warehouse a client's `warehouse` names, and which namespace and
// table names are one key segment each. The listings and loads are tested through the server in
// test/integration/iceberg-catalog.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { catalogTableLocation, isCatalogNamespaceName, isCatalogTableName, warehouseBucket } from "./catalog.js";

describe("warehouseBucket", () => {
  it("takes a bucket name or an s3:// URI as that bucket", () => {
    assert.equal(warehouseBucket("aws-s3-111122223333", "us-east-1"), "aws-s3-111122223333");
    assert.equal(warehouseBucket("s3://my-tables", "us-east-1"), "my-tables");
    assert.equal(warehouseBucket("s3://my-tables/", "us-east-1"), "my-tables");
  });

  it("maps a table bucket ARN to its bucket, AWS's managed aws-s3 to aws-s3-<account>", () => {
    assert.equal(warehouseBucket("arn:aws:s3tables:us-east-1:111122223333:bucket/aws-s3", "us-east-1"), "aws-s3-111122223333");
    assert.equal(warehouseBucket("arn:aws:s3tables:us-east-1:111122223333:bucket/my-tables", "us-east-1"), "my-tables");
  });

  it("names nothing for another region's ARN, a path, or a name no bucket can have", () => {
    assert.equal(warehouseBucket("arn:aws:s3tables:eu-west-1:111122223333:bucket/aws-s3", "us-east-1"), undefined);
    assert.equal(warehouseBucket("s3://my-tables/warehouse/", "us-east-1"), undefined);
    assert.equal(warehouseBucket("../etc", "us-east-1"), undefined);
    assert.equal(warehouseBucket("", "us-east-1"), undefined);
  });
});

describe("catalog names", () => {
  it("accepts b_<bucket> namespaces with the bucket name's dots and hyphens, and aws_s3_metadata", () => {
    for (const ns of ["b_photos", "b_my-photos.2025", "aws_s3_metadata"]) assert.ok(isCatalogNamespaceName(ns), ns);
  });

  it("refuses names that are not exactly one key segment, or start with a dot", () => {
    for (const ns of ["", ".", "..", "a/b", "a\u001fb", "B_photos", "_x", "-x", "x".repeat(256)]) assert.ok(!isCatalogNamespaceName(ns), JSON.stringify(ns));
  });

  it("accepts S3 Tables' table names only", () => {
    assert.ok(isCatalogTableName("journal"));
    assert.ok(isCatalogTableName("photos_journal"));
    for (const t of ["", "..", "a.b", "a-b", "a/b", "Journal"]) assert.ok(!isCatalogTableName(t), t);
  });

  it("places a table at <namespace>/<table>/ and refuses invalid names", () => {
    assert.deepEqual(catalogTableLocation("aws-s3-111122223333", "b_photos", "journal"), { bucket: "aws-s3-111122223333", prefix: "b_photos/journal/" });
    assert.throws(() => catalogTableLocation("b", "..", "journal"), RangeError);
    assert.throws(() => catalogTableLocation("b", "b_photos", "../x"), RangeError);
  });
});
