// The catalog's pure rules: which warehouse a client's `warehouse` names, and which namespace and
// table names are one key segment each; and how many reads a listing of namespaces costs. The
// listings and loads are tested through the server in test/integration/iceberg-catalog.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Context } from "../core/context.js";
import type { ListObjectsQuery } from "../storage/types.js";
import { catalogTableLocation, isCatalogNamespaceName, isCatalogTableName, listNamespaces, warehouseOf } from "./catalog.js";

describe("warehouseOf", () => {
  it("takes a bucket name or an s3:// URI as that bucket, a managed name as its account's", () => {
    assert.deepEqual(warehouseOf("aws-s3-111122223333", "us-east-1"), { bucket: "aws-s3-111122223333", owner: "111122223333" });
    assert.deepEqual(warehouseOf("s3://my-tables", "us-east-1"), { bucket: "my-tables" });
    assert.deepEqual(warehouseOf("s3://my-tables/", "us-east-1"), { bucket: "my-tables" });
    assert.deepEqual(warehouseOf("aws-s3-tables", "us-east-1"), { bucket: "aws-s3-tables" });
  });

  it("maps a table bucket ARN to its bucket, AWS's managed aws-s3 to aws-s3-<account>, owned by the ARN's account", () => {
    assert.deepEqual(warehouseOf("arn:aws:s3tables:us-east-1:111122223333:bucket/aws-s3", "us-east-1"), { bucket: "aws-s3-111122223333", owner: "111122223333" });
    assert.deepEqual(warehouseOf("arn:aws:s3tables:us-east-1:111122223333:bucket/my-tables", "us-east-1"), { bucket: "my-tables", owner: "111122223333" });
  });

  it("names nothing for another region's ARN, a path, or a name no bucket can have", () => {
    assert.equal(warehouseOf("arn:aws:s3tables:eu-west-1:111122223333:bucket/aws-s3", "us-east-1"), undefined);
    assert.equal(warehouseOf("s3://my-tables/warehouse/", "us-east-1"), undefined);
    assert.equal(warehouseOf("../etc", "us-east-1"), undefined);
    assert.equal(warehouseOf("", "us-east-1"), undefined);
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

describe("listing namespaces", () => {
  /** A store of these keys (ASCII, so string order is byte order) that counts its listings. */
  function storeOf(keys: string[]): { ctx: Context; reads: () => number } {
    const sorted = [...keys].sort();
    let reads = 0;
    const listCurrent = async (q: ListObjectsQuery) => {
      reads++;
      return sorted
        .filter((key) => key.startsWith(q.prefix ?? "") && (q.after === undefined || key > q.after))
        .slice(0, q.limit)
        .map((key) => ({ key }));
    };
    return { ctx: { metadata: { listCurrent } } as unknown as Context, reads: () => reads };
  }

  it("reads past a bucket's loose keys in growing pages: 200,000 of them cost about 200 reads, not one each", async () => {
    const loose = Array.from({ length: 200_000 }, (_, i) => `loose-${String(i).padStart(6, "0")}`);
    const tables = ["b_photos/journal/metadata/v1.metadata.json", "b_photos/inventory/metadata/v1.metadata.json", "aws_s3_metadata/t/metadata/v1.metadata.json"];
    const { ctx, reads } = storeOf([...loose, ...tables, "zz-last-loose"]);
    assert.deepEqual(await listNamespaces(ctx, "warehouse"), { names: ["aws_s3_metadata", "b_photos"], more: false });
    assert.ok(reads() < 220, `${reads()} reads`);
  });

  it("still costs one read per namespace, however many objects each holds", async () => {
    const keys = ["a", "b", "c"].flatMap((ns) => Array.from({ length: 5_000 }, (_, i) => `${ns}/t/data/${i}.parquet`));
    const { ctx, reads } = storeOf(keys);
    assert.deepEqual(await listNamespaces(ctx, "warehouse"), { names: ["a", "b", "c"], more: false });
    assert.equal(reads(), 4);
  });
});
