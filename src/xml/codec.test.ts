// The XML codec: well-formedness, no entity expansion, S3 document output.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseXml, toXml, textOf, asArray } from "./codec.js";
import { S3Error } from "../errors.js";

const isMalformed = (e: unknown) => e instanceof S3Error && e.code === "MalformedXML";

describe("xml codec", () => {
  it("parses an S3 document with namespace, repeated elements and character references", () => {
    const doc = parseXml(
      Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
      <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
        <Object><Key>a&amp;b&#x41;&#66;&lt;</Key></Object>
        <Object><Key>second</Key></Object>
        <Quiet>true</Quiet>
      </Delete>`),
      "Delete",
    );
    const objects = asArray(doc.Object);
    assert.equal(objects.length, 2);
    assert.equal(textOf(objects[0] as Record<string, never>, "Key"), "a&bAB<");
    assert.equal(textOf(doc, "Quiet"), "true");
  });

  it("refuses DTDs and custom entities instead of expanding them", () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><Delete><Object><Key>&lol2;</Key></Object></Delete>`;
    assert.throws(() => parseXml(Buffer.from(bomb), "Delete"), isMalformed);
    assert.throws(() => parseXml(Buffer.from("<Delete><Object><Key>&unknown;</Key></Object></Delete>"), "Delete"), isMalformed);
  });

  it("refuses bodies that are not well-formed, empty or rooted elsewhere", () => {
    assert.throws(() => parseXml(Buffer.from("<Delete><Object></Delete>"), "Delete"), isMalformed);
    assert.throws(() => parseXml(Buffer.from(""), "Delete"), isMalformed);
    assert.throws(() => parseXml(Buffer.from("not xml at all"), "Delete"), isMalformed);
    assert.throws(() => parseXml(Buffer.from("<Other/>"), "Delete"), isMalformed);
  });

  it("writes S3 documents with the namespace, escaping text and omitting undefined", () => {
    const xml = toXml("ListBucketResult", { Name: "a&<b", Contents: [{ Key: "k1" }, { Key: "k2" }], Missing: undefined, IsTruncated: false });
    assert.equal(
      xml,
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>a&amp;&lt;b</Name><Contents><Key>k1</Key></Contents><Contents><Key>k2</Key></Contents><IsTruncated>false</IsTruncated></ListBucketResult>',
    );
  });
});
