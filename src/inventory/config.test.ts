// Inventory configuration validation: one test per rule, with the error code S3 answers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseXml } from "../xml/codec.js";
import { inventoryConfigurationFromJson, inventoryConfigurationToJson, inventoryConfigurationToXml, parseInventoryConfiguration } from "./config.js";
import { toXml } from "../xml/codec.js";
import { S3Error } from "../errors.js";

/** The example from the PutBucketInventoryConfiguration API reference, with every element present. */
const FULL = `<?xml version="1.0" encoding="UTF-8"?>
<InventoryConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Destination>
    <S3BucketDestination>
      <AccountId>123456789012</AccountId>
      <Bucket>arn:aws:s3:::example-destination-bucket</Bucket>
      <Format>CSV</Format>
      <Prefix>prefix1</Prefix>
      <Encryption><SSE-KMS><KeyId>arn:aws:kms:us-east-1:123456789012:key/abc</KeyId></SSE-KMS></Encryption>
    </S3BucketDestination>
  </Destination>
  <IsEnabled>true</IsEnabled>
  <Filter><Prefix>filterPrefix</Prefix></Filter>
  <Id>report1</Id>
  <IncludedObjectVersions>All</IncludedObjectVersions>
  <OptionalFields>
    <Field>Size</Field>
    <Field>LastModifiedDate</Field>
    <Field>ETag</Field>
    <Field>StorageClass</Field>
    <Field>IsMultipartUploaded</Field>
    <Field>ReplicationStatus</Field>
    <Field>ObjectOwner</Field>
  </OptionalFields>
  <Schedule><Frequency>Daily</Frequency></Schedule>
</InventoryConfiguration>`;

const parse = (xml: string) => parseInventoryConfiguration(parseXml(Buffer.from(xml), "InventoryConfiguration"));

function codeOf(xml: string): string {
  try {
    parse(xml);
  } catch (e) {
    if (e instanceof S3Error) return e.code;
    throw e;
  }
  return "accepted";
}

const variant = (from: string, to: string) => {
  assert.ok(FULL.includes(from), `fixture contains ${from}`);
  return FULL.replace(from, to);
};

describe("inventory configuration", () => {
  it("parses every element of the API reference's example", () => {
    const c = parse(FULL);
    assert.deepEqual(c, {
      id: "report1",
      isEnabled: true,
      filterPrefix: "filterPrefix",
      includedObjectVersions: "All",
      optionalFields: ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "ReplicationStatus", "ObjectOwner"],
      frequency: "Daily",
      destination: {
        bucketArn: "arn:aws:s3:::example-destination-bucket",
        bucketName: "example-destination-bucket",
        accountId: "123456789012",
        format: "CSV",
        prefix: "prefix1",
        encryption: { kind: "SSE-KMS", keyId: "arn:aws:kms:us-east-1:123456789012:key/abc" },
      },
    });
  });

  it("serialises back to the same document, and survives its JSON storage form", () => {
    const c = parse(FULL);
    const again = parse(toXml("InventoryConfiguration", inventoryConfigurationToXml(c)));
    assert.deepEqual(again, c);
    assert.deepEqual(inventoryConfigurationFromJson(inventoryConfigurationToJson(c)), c);
    const sses3 = parse(variant("<SSE-KMS><KeyId>arn:aws:kms:us-east-1:123456789012:key/abc</KeyId></SSE-KMS>", "<SSE-S3/>"));
    assert.deepEqual(sses3.destination.encryption, { kind: "SSE-S3" });
    assert.match(toXml("InventoryConfiguration", inventoryConfigurationToXml(sses3)), /<Encryption><SSE-S3><\/SSE-S3><\/Encryption>/);
  });

  it("accepts each of the 19 optional fields and the ORC and Parquet formats", () => {
    for (const f of ["ChecksumAlgorithm", "ObjectAccessControlList", "LifecycleExpirationDate", "ObjectLockEventHoldStatus", "ObjectLockEventHoldDuration", "IntelligentTieringReferenceDate", "BucketKeyStatus"]) {
      assert.equal(codeOf(variant("<Field>Size</Field>", `<Field>${f}</Field>`)), "accepted", f);
    }
    assert.equal(codeOf(variant("<Format>CSV</Format>", "<Format>ORC</Format>")), "accepted");
    assert.equal(codeOf(variant("<Format>CSV</Format>", "<Format>Parquet</Format>")), "accepted");
  });

  it("refuses a destination bucket that is not an ARN with InvalidS3DestinationBucket", () => {
    assert.equal(codeOf(variant("arn:aws:s3:::example-destination-bucket", "example-destination-bucket")), "InvalidS3DestinationBucket");
    assert.equal(codeOf(variant("arn:aws:s3:::example-destination-bucket", "arn:aws:s3:::Bad_Name")), "InvalidS3DestinationBucket");
  });

  it("refuses unknown enum values with MalformedXML", () => {
    assert.equal(codeOf(variant("<Format>CSV</Format>", "<Format>JSON</Format>")), "MalformedXML");
    assert.equal(codeOf(variant("<Frequency>Daily</Frequency>", "<Frequency>Hourly</Frequency>")), "MalformedXML");
    assert.equal(codeOf(variant("<IncludedObjectVersions>All</IncludedObjectVersions>", "<IncludedObjectVersions>Some</IncludedObjectVersions>")), "MalformedXML");
    assert.equal(codeOf(variant("<Field>Size</Field>", "<Field>Colour</Field>")), "MalformedXML");
    assert.equal(codeOf(variant("<IsEnabled>true</IsEnabled>", "<IsEnabled>yes</IsEnabled>")), "MalformedXML");
  });

  it("refuses a missing required element with MalformedXML", () => {
    for (const [from, to] of [
      ["<Id>report1</Id>", ""],
      ["<IsEnabled>true</IsEnabled>", ""],
      ["<IncludedObjectVersions>All</IncludedObjectVersions>", ""],
      ["<Schedule><Frequency>Daily</Frequency></Schedule>", ""],
      ["<Frequency>Daily</Frequency>", ""],
      ["<Format>CSV</Format>", ""],
      ["<Bucket>arn:aws:s3:::example-destination-bucket</Bucket>", ""],
      ["<Filter><Prefix>filterPrefix</Prefix></Filter>", "<Filter></Filter>"],
      ["<KeyId>arn:aws:kms:us-east-1:123456789012:key/abc</KeyId>", ""],
    ]) {
      assert.equal(codeOf(variant(from!, to!)), "MalformedXML", from);
    }
  });

  it("refuses ids with characters or a length S3 refuses with MalformedXML", () => {
    assert.equal(codeOf(variant("<Id>report1</Id>", "<Id>has space</Id>")), "MalformedXML");
    assert.equal(codeOf(variant("<Id>report1</Id>", "<Id>slash/id</Id>")), "MalformedXML");
    assert.equal(codeOf(variant("<Id>report1</Id>", `<Id>${"a".repeat(65)}</Id>`)), "MalformedXML");
    assert.equal(codeOf(variant("<Id>report1</Id>", `<Id>${"a".repeat(64)}</Id>`)), "accepted");
    assert.equal(codeOf(variant("<Id>report1</Id>", "<Id>Ok.id_with-all</Id>")), "accepted");
  });

  it("refuses values that parse but cannot apply with InvalidArgument", () => {
    assert.equal(codeOf(variant("<Field>ETag</Field>", "<Field>Size</Field>")), "InvalidArgument", "a field listed twice");
    assert.equal(
      codeOf(variant("<SSE-KMS><KeyId>arn:aws:kms:us-east-1:123456789012:key/abc</KeyId></SSE-KMS>", "<SSE-S3/><SSE-KMS><KeyId>k</KeyId></SSE-KMS>")),
      "InvalidArgument",
      "both encryption kinds",
    );
    assert.equal(codeOf(variant("<AccountId>123456789012</AccountId>", "<AccountId>12345</AccountId>")), "InvalidArgument");
  });

  it("refuses elements the schema does not have and an empty Encryption with MalformedXML", () => {
    assert.equal(codeOf(variant("<IsEnabled>true</IsEnabled>", "<IsEnabled>true</IsEnabled><Colour>red</Colour>")), "MalformedXML");
    assert.equal(codeOf(variant("<SSE-KMS><KeyId>arn:aws:kms:us-east-1:123456789012:key/abc</KeyId></SSE-KMS>", "")), "MalformedXML");
    assert.equal(codeOf(variant("<Id>report1</Id>", "<Id>report1</Id><Id>report2</Id>")), "MalformedXML");
  });
});
