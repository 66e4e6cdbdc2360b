// Lifecycle configuration validation: what S3 accepts, what it answers otherwise, and the round trip.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { S3Error } from "../errors.js";
import { lifecycleConfigurationXml, parseLifecycleConfiguration } from "./rules.js";
import { parseXml, toXml } from "../xml/codec.js";

const doc = (rules: string) => Buffer.from(`<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules}</LifecycleConfiguration>`);
const parse = (rules: string) => parseLifecycleConfiguration(doc(rules), undefined);

function rejects(rules: string, code: string, message?: string): void {
  assert.throws(
    () => parse(rules),
    (err: unknown) => {
      assert.ok(err instanceof S3Error);
      assert.equal(err.code, code);
      if (message !== undefined) assert.equal(err.message, message);
      return true;
    },
  );
}

/** The "multiple rules" example of the PutBucketLifecycleConfiguration reference, with every action. */
const FULL = `
<Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>
  <Transition><Days>30</Days><StorageClass>STANDARD_IA</StorageClass></Transition>
  <Transition><Days>90</Days><StorageClass>GLACIER</StorageClass></Transition>
  <Expiration><Days>365</Days></Expiration>
  <NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>STANDARD_IA</StorageClass></NoncurrentVersionTransition>
  <NoncurrentVersionExpiration><NoncurrentDays>60</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>
  <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>
</Rule>
<Rule><ID>tagged</ID><Filter><And><Prefix>docs/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Disabled</Status>
  <Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>
<Rule><ID>legacy</ID><Prefix>old/</Prefix><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`;

describe("parseLifecycleConfiguration", () => {
  it("reads every action and filter shape, and writes them back the same", () => {
    const config = parseLifecycleConfiguration(doc(FULL), "varies_by_storage_class");
    assert.equal(config.rules.length, 3);
    assert.equal(config.minimumSizeMode, "varies_by_storage_class");
    const [logs, tagged, legacy] = config.rules;
    assert.deepEqual(logs!.filter, { kind: "filter", and: false, prefix: "logs/", tags: [], sizeGreaterThan: undefined, sizeLessThan: undefined });
    assert.equal(logs!.transitions.length, 2);
    assert.deepEqual(logs!.noncurrentExpiration, { noncurrentDays: 60, newerNoncurrentVersions: 3 });
    assert.equal(logs!.abortIncompleteMultipartUploadDays, 7);
    assert.equal(tagged!.enabled, false);
    assert.equal(tagged!.expiration?.date, Date.parse("2030-01-01T00:00:00Z"));
    assert.deepEqual(legacy!.filter, { kind: "legacy", prefix: "old/" });
    // Round trip: serialise, parse again, same model.
    const xml = toXml("LifecycleConfiguration", lifecycleConfigurationXml(config));
    assert.deepEqual(parseLifecycleConfiguration(Buffer.from(xml), "varies_by_storage_class"), config);
    assert.ok(parseXml(Buffer.from(xml), "LifecycleConfiguration"));
  });
  it("generates an ID for a rule without one, and defaults the minimum transition size", () => {
    const config = parse("<Rule><Filter></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>");
    assert.match(config.rules[0]!.id, /^[A-Za-z0-9+/=]{20,}$/);
    assert.equal(config.minimumSizeMode, "all_storage_classes_128K");
  });
  it("refuses documents S3 refuses, with S3's code", () => {
    const exp = "<Expiration><Days>1</Days></Expiration>";
    rejects("", "MalformedXML");
    rejects(`<Rule><Filter/><Status>On</Status>${exp}</Rule>`, "MalformedXML");
    rejects(`<Rule><Status>Enabled</Status>${exp}</Rule>`, "MalformedXML");
    rejects(`<Rule><Prefix>a</Prefix><Filter/><Status>Enabled</Status>${exp}</Rule>`, "MalformedXML");
    rejects(`<Rule><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>${exp}</Rule>`, "MalformedXML");
    rejects(`<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`, "MalformedXML");
    rejects(`<Rule><Filter/><Status>Enabled</Status><Expiration><Days>x</Days></Expiration></Rule>`, "MalformedXML");
    rejects(`<Rule><Filter/><Status>Enabled</Status><Bogus/>${exp}</Rule>`, "MalformedXML");
    rejects(`<Rule><Filter/><Status>Enabled</Status></Rule>`, "InvalidRequest", "At least one action needs to be specified in a rule");
    rejects(`<Rule><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>`, "InvalidArgument", "'Days' for Expiration action must be a positive integer");
    rejects(`<Rule><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T05:00:00Z</Date></Expiration></Rule>`, "InvalidArgument", "'Date' must be at midnight GMT");
    rejects(`<Rule><ID>x</ID><Filter/><Status>Enabled</Status>${exp}</Rule><Rule><ID>x</ID><Filter/><Status>Enabled</Status>${exp}</Rule>`, "InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule");
    rejects(`<Rule><ID>${"i".repeat(256)}</ID><Filter/><Status>Enabled</Status>${exp}</Rule>`, "InvalidArgument", "ID length should not exceed allowed limit of 255");
    rejects(`<Rule><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration></Rule>`, "InvalidArgument");
    rejects(`<Rule><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`, "InvalidArgument");
    rejects(`<Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`, "InvalidRequest");
    rejects(`<Rule><Filter/><Status>Enabled</Status><Transition><Days>10</Days><StorageClass>STANDARD_IA</StorageClass></Transition></Rule>`, "InvalidArgument", "'Days' in Transition action must be greater than or equal to 30 for storageClass 'STANDARD_IA'");
    rejects(`<Rule><Filter/><Status>Enabled</Status><Transition><Days>10</Days><StorageClass>STANDARD</StorageClass></Transition></Rule>`, "MalformedXML");
    rejects(`<Rule><Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status>${exp}</Rule>`, "InvalidArgument", "Duplicate Tag Keys are not allowed.");
    rejects(`<Rule><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>${exp}</Rule>`, "InvalidArgument");
    rejects(Array.from({ length: 1001 }, (_, i) => `<Rule><ID>r${i}</ID><Filter/><Status>Enabled</Status>${exp}</Rule>`).join(""), "MalformedXML");
  });
  it("refuses an unknown x-amz-transition-default-minimum-object-size", () => {
    assert.throws(() => parseLifecycleConfiguration(doc("<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"), "tiny"), (e: unknown) => e instanceof S3Error && e.code === "InvalidArgument");
  });
});
