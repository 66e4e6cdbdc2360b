// The PublicAccessBlockConfiguration document: what PutPublicAccessBlock accepts and stores, and
// what GetPublicAccessBlock answers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { S3Error } from "../errors.js";
import { parsePublicAccessBlock, publicAccessBlockXml } from "./public-access-block.js";
import { isPublicGrant, Groups } from "./acl.js";

const doc = (inner: string) => Buffer.from(`<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</PublicAccessBlockConfiguration>`);

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
  return undefined;
}

describe("PublicAccessBlockConfiguration", () => {
  it("reads the four settings", () => {
    assert.deepEqual(
      parsePublicAccessBlock(doc("<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>")),
      { blockPublicAcls: true, ignorePublicAcls: false, blockPublicPolicy: true, restrictPublicBuckets: true },
    );
  });

  it("takes a missing setting as false, an empty document as all false", () => {
    assert.deepEqual(parsePublicAccessBlock(doc("<IgnorePublicAcls>true</IgnorePublicAcls>")), {
      blockPublicAcls: false,
      ignorePublicAcls: true,
      blockPublicPolicy: false,
      restrictPublicBuckets: false,
    });
    assert.deepEqual(parsePublicAccessBlock(doc("")), { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false });
  });

  it("accepts TRUE and FALSE in any case, with surrounding whitespace", () => {
    assert.equal(parsePublicAccessBlock(doc("<BlockPublicPolicy> TRUE </BlockPublicPolicy>")).blockPublicPolicy, true);
  });

  it("refuses other values, unknown elements, another root and an empty body as MalformedXML", () => {
    assert.equal(code(() => parsePublicAccessBlock(doc("<BlockPublicAcls>yes</BlockPublicAcls>"))), "MalformedXML");
    assert.equal(code(() => parsePublicAccessBlock(doc("<BlockPublicAcls></BlockPublicAcls>"))), "MalformedXML");
    assert.equal(code(() => parsePublicAccessBlock(doc("<BlockEverything>true</BlockEverything>"))), "MalformedXML");
    assert.equal(code(() => parsePublicAccessBlock(doc("<BlockPublicAcls>true</BlockPublicAcls><BlockPublicAcls>false</BlockPublicAcls>"))), "MalformedXML");
    assert.equal(code(() => parsePublicAccessBlock(Buffer.from("<PublicAccessBlock><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlock>"))), "MalformedXML");
    assert.equal(code(() => parsePublicAccessBlock(Buffer.alloc(0))), "MalformedXML");
  });

  it("answers every setting in S3's order", () => {
    const xml = publicAccessBlockXml({ blockPublicAcls: true, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: true });
    assert.deepEqual(Object.entries(xml), [
      ["BlockPublicAcls", true],
      ["IgnorePublicAcls", false],
      ["BlockPublicPolicy", false],
      ["RestrictPublicBuckets", true],
    ]);
  });
});

describe("public ACL grants", () => {
  it("are grants of any permission to AllUsers or AuthenticatedUsers", () => {
    assert.equal(isPublicGrant({ uri: Groups.AllUsers, permission: "READ" }), true);
    assert.equal(isPublicGrant({ uri: Groups.AuthenticatedUsers, permission: "WRITE_ACP" }), true);
    assert.equal(isPublicGrant({ uri: Groups.LogDelivery, permission: "WRITE" }), false);
    assert.equal(isPublicGrant({ id: "a".repeat(64), permission: "FULL_CONTROL" }), false);
  });
});
