import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { S3Error } from "../errors.js";
import { parseXml, toXml } from "../xml/codec.js";
import { parseReplicationConfiguration, replicationConfigurationToXml, rulesFor, type ReplicationConfiguration } from "./config.js";
import { replicationTargets } from "./eligibility.js";

const ROLE = "<Role>arn:aws:iam::111122223333:role/replication</Role>";

function parse(inner: string): ReplicationConfiguration {
  return parseReplicationConfiguration(parseXml(Buffer.from(`<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</ReplicationConfiguration>`), "ReplicationConfiguration"));
}

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof S3Error);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const v2Rule = (body: string, extra = "") =>
  `<Rule><ID>r</ID><Priority>1</Priority><Status>Enabled</Status>${body}<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>arn:aws:s3:::dest</Bucket></Destination>${extra}</Rule>`;

describe("replication configuration", () => {
  it("parses the API reference's V2 example and writes it back the same", () => {
    const config = parse(
      ROLE +
        `<Rule><ID>Rule-1</ID><Priority>2</Priority><Status>Enabled</Status>` +
        `<Filter><And><Prefix>Tax</Prefix><Tag><Key>k1</Key><Value>v1</Value></Tag><Tag><Key>k2</Key><Value>v2</Value></Tag></And></Filter>` +
        `<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>` +
        `<Destination><Bucket>arn:aws:s3:::dest</Bucket><StorageClass>STANDARD_IA</StorageClass><Account>444455556666</Account></Destination>` +
        `<ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication></Rule>`,
    );
    assert.deepEqual(config.rules[0], {
      id: "Rule-1",
      priority: 2,
      status: "Enabled",
      legacyPrefix: undefined,
      filter: { and: { prefix: "Tax", tags: [{ key: "k1", value: "v1" }, { key: "k2", value: "v2" }] } },
      deleteMarkerReplication: "Disabled",
      existingObjectReplication: "Enabled",
      sseKmsEncryptedObjects: undefined,
      replicaModifications: undefined,
      destination: { bucket: "dest", account: "444455556666", storageClass: "STANDARD_IA", ownerOverride: undefined, replicaKmsKeyId: undefined, replicationTime: undefined, metrics: undefined },
    });
    const again = parse(toXml("ReplicationConfiguration", replicationConfigurationToXml(config), null).replace(/^<\?xml[^>]*>\n<ReplicationConfiguration>|<\/ReplicationConfiguration>$/g, ""));
    assert.deepEqual(again, config);
  });

  it("accepts a V1 rule (Prefix beside Status, no priority) and names a rule given without an ID", () => {
    const config = parse(ROLE + `<Rule><Status>Enabled</Status><Prefix>logs/</Prefix><Destination><Bucket>arn:aws:s3:::dest</Bucket></Destination></Rule>`);
    assert.equal(config.rules[0]!.legacyPrefix, "logs/");
    assert.equal(config.rules[0]!.priority, undefined);
    assert.ok(config.rules[0]!.id.length > 0);
  });

  it("refuses what S3 refuses", () => {
    throwsCode(() => parse(`<Rule><Status>Enabled</Status><Destination><Bucket>arn:aws:s3:::d</Bucket></Destination></Rule>`), "MalformedXML");
    throwsCode(() => parse(ROLE), "MalformedXML");
    // A Filter needs Priority and DeleteMarkerReplication.
    throwsCode(() => parse(ROLE + `<Rule><Status>Enabled</Status><Filter/><Destination><Bucket>arn:aws:s3:::d</Bucket></Destination></Rule>`), "MalformedXML");
    throwsCode(
      () => parse(ROLE + v2Rule(`<Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter>`).replace("<Status>Disabled</Status></DeleteMarker", "<Status>Enabled</Status></DeleteMarker")),
      "InvalidRequest",
      /Delete marker replication is not supported if any Tag filter/,
    );
    throwsCode(() => parse(ROLE + v2Rule("<Filter/>") + v2Rule("<Filter/>").replace("<ID>r</ID>", "<ID>s</ID>")), "InvalidRequest", /duplicate priority/);
    throwsCode(() => parse(ROLE + v2Rule("<Filter/>") + v2Rule("<Filter/>").replace("<Priority>1</Priority>", "<Priority>2</Priority>")), "InvalidArgument", /Rule Id must be unique/);
    throwsCode(() => parse(ROLE + v2Rule("<Filter/>").replace("arn:aws:s3:::dest", "dest")), "InvalidArgument");
    throwsCode(() => parse(ROLE + v2Rule("<Filter/>").replace("</Bucket>", "</Bucket><StorageClass>COLD</StorageClass>")), "InvalidStorageClass");
    throwsCode(() => parse(ROLE + v2Rule("<Filter/>", "<SourceSelectionCriteria><SseKmsEncryptedObjects><Status>Enabled</Status></SseKmsEncryptedObjects></SourceSelectionCriteria>")), "InvalidRequest", /ReplicaKmsKeyID/);
    throwsCode(() => parse(ROLE + v2Rule("<Filter/>") + `<Rule><ID>v1</ID><Status>Enabled</Status><Prefix/><Destination><Bucket>arn:aws:s3:::d</Bucket></Destination></Rule>`), "MalformedXML");
    throwsCode(() => parse(ROLE + v2Rule("<Filter/>").replace("<Status>Enabled</Status>", "<Status>On</Status>")), "MalformedXML");
    const tooMany = Array.from({ length: 1001 }, (_, i) => v2Rule("<Filter/>").replace("<ID>r</ID>", `<ID>r${i}</ID>`).replace("<Priority>1</Priority>", `<Priority>${i}</Priority>`)).join("");
    throwsCode(() => parse(ROLE + tooMany), "InvalidRequest", /1000/);
  });

  it("picks per destination the highest-priority matching rule, and replicates delete markers only where it says so", () => {
    const config = parse(
      ROLE +
        v2Rule("<Filter><Prefix>star</Prefix></Filter>").replace("<ID>r</ID>", "<ID>low</ID>").replace("<Status>Disabled</Status></Delete", "<Status>Enabled</Status></Delete") +
        v2Rule("<Filter><Prefix>starship</Prefix></Filter>").replace("<ID>r</ID>", "<ID>high</ID>").replace("<Priority>1</Priority>", "<Priority>5</Priority>"),
    );
    assert.deepEqual(rulesFor(config, { key: "starship-x", tags: {}, isDeleteMarker: false }).map((r) => r.id), ["high"]);
    assert.deepEqual(rulesFor(config, { key: "stars", tags: {}, isDeleteMarker: false }).map((r) => r.id), ["low"]);
    assert.deepEqual(rulesFor(config, { key: "stars", tags: {}, isDeleteMarker: true }).map((r) => r.id), ["low"]);
    assert.deepEqual(rulesFor(config, { key: "starship-x", tags: {}, isDeleteMarker: true }), [], "the deciding rule does not replicate markers");
    assert.deepEqual(rulesFor(config, { key: "planet", tags: {}, isDeleteMarker: false }), []);
  });

  it("matches tag filters against the object's tags and leaves out replicas, archived and unopted SSE-KMS objects", () => {
    const config = parse(ROLE + v2Rule(`<Filter><And><Prefix>a/</Prefix><Tag><Key>team</Key><Value>x</Value></Tag></And></Filter>`));
    const v = (extra: Record<string, unknown>, storageClass = "STANDARD") => ({ key: "a/1", isDeleteMarker: false, storageClass, extra });
    assert.equal(replicationTargets(config, v({ tags: [["team", "x"]] })).length, 1);
    assert.equal(replicationTargets(config, v({ tags: [["team", "y"]] })).length, 0);
    assert.equal(replicationTargets(config, v({})).length, 0);
    assert.equal(replicationTargets(config, v({ tags: [["team", "x"]], replicationStatus: "REPLICA" })).length, 0);
    assert.equal(replicationTargets(config, v({ tags: [["team", "x"]] }, "GLACIER")).length, 0);
    assert.equal(replicationTargets(config, v({ tags: [["team", "x"]], encryption: { kind: "SSE-KMS", keyId: "k" } })).length, 0);
    assert.equal(replicationTargets(config, v({ tags: [["team", "x"]], encryption: { kind: "SSE-C", customerKeyMd5: "m" } })).length, 1);
  });
});
