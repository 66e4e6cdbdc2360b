// BucketLoggingStatus documents, from the examples of S3's PutBucketLogging page and user guide:
// parse → model → serialize, and the documents S3 refuses as MalformedXML.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { S3Error } from "../errors.js";
import { toXml } from "../xml/codec.js";
import { bucketLoggingStatusXml, parseBucketLoggingStatus, type LoggingConfiguration } from "./bucket-logging.js";
import { parseRequestPayment } from "./request-payment.js";

const parse = (text: string) => parseBucketLoggingStatus(Buffer.from(text));
const NS = 'xmlns="http://doc.s3.amazonaws.com/2006-03-01"';

function malformed(text: string): void {
  assert.throws(() => parse(text), (e: unknown) => e instanceof S3Error && e.code === "MalformedXML", text);
}

describe("BucketLoggingStatus", () => {
  it("reads the user guide's example", () => {
    assert.deepEqual(parse(`<BucketLoggingStatus ${NS}>\n  <LoggingEnabled>\n    <TargetBucket>LOGBUCKET</TargetBucket>\n    <TargetPrefix>logs/</TargetPrefix>\n  </LoggingEnabled>\n</BucketLoggingStatus>`), {
      targetBucket: "LOGBUCKET",
      targetPrefix: "logs/",
    });
  });

  it("reads an empty status, whitespace and all, as logging off", () => {
    assert.equal(parse(`<BucketLoggingStatus ${NS}>\n</BucketLoggingStatus>`), undefined);
    assert.equal(parse("<BucketLoggingStatus/>"), undefined);
  });

  it("reads both key formats and target grants", () => {
    assert.deepEqual(parse("<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket><TargetPrefix></TargetPrefix><TargetObjectKeyFormat><SimplePrefix/></TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>"), {
      targetBucket: "t",
      targetPrefix: "",
      keyFormat: { kind: "simple" },
    });
    const partitioned = parse(
      "<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket><TargetPrefix>p/</TargetPrefix>" +
        "<TargetGrants><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>abc</ID><DisplayName>x</DisplayName></Grantee><Permission>READ</Permission></Grant>" +
        "<Grant><Grantee xsi:type=\"Group\"><URI>http://acs.amazonaws.com/groups/global/AuthenticatedUsers</URI></Grantee><Permission>WRITE</Permission></Grant></TargetGrants>" +
        "<TargetObjectKeyFormat><PartitionedPrefix><PartitionDateSource>DeliveryTime</PartitionDateSource></PartitionedPrefix></TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>",
    );
    assert.deepEqual(partitioned, {
      targetBucket: "t",
      targetPrefix: "p/",
      targetGrants: [
        { grantee: { id: "abc" }, permission: "READ" },
        { grantee: { uri: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers" }, permission: "WRITE" },
      ],
      keyFormat: { kind: "partitioned", dateSource: "DeliveryTime" },
    });
    assert.deepEqual(parse("<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket><TargetPrefix>p</TargetPrefix><TargetObjectKeyFormat><PartitionedPrefix/></TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>")?.keyFormat, {
      kind: "partitioned",
    });
  });

  it("refuses what breaks the schema", () => {
    const enabled = (inner: string) => `<BucketLoggingStatus><LoggingEnabled>${inner}</LoggingEnabled></BucketLoggingStatus>`;
    malformed(enabled("<TargetPrefix>p</TargetPrefix>"));
    malformed(enabled("<TargetBucket>t</TargetBucket>"));
    malformed(enabled("<TargetBucket>t</TargetBucket><TargetPrefix>p</TargetPrefix><LoggingType>Journal</LoggingType>"));
    malformed(enabled("<TargetBucket>t</TargetBucket><TargetPrefix>p</TargetPrefix><TargetObjectKeyFormat><PartitionedPrefix><PartitionDateSource>kaboom</PartitionDateSource></PartitionedPrefix></TargetObjectKeyFormat>"));
    malformed(enabled("<TargetBucket>t</TargetBucket><TargetPrefix>p</TargetPrefix><TargetObjectKeyFormat/>"));
    malformed(enabled("<TargetBucket>t</TargetBucket><TargetPrefix>p</TargetPrefix><TargetObjectKeyFormat><SimplePrefix/><PartitionedPrefix/></TargetObjectKeyFormat>"));
    malformed(enabled("<TargetBucket>t</TargetBucket><TargetPrefix>p</TargetPrefix><TargetGrants><Grant><Grantee><ID>a</ID></Grantee><Permission>READ_ACP</Permission></Grant></TargetGrants>"));
    malformed("<LoggingStatus/>");
  });

  it("answers GET with what PUT said: the key format and grants only when given", () => {
    const xml = (c: LoggingConfiguration | undefined) => toXml("BucketLoggingStatus", bucketLoggingStatusXml(c, () => "owner"));
    assert.equal(xml(undefined), '<?xml version="1.0" encoding="UTF-8"?>\n<BucketLoggingStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></BucketLoggingStatus>');
    assert.match(xml({ targetBucket: "t", targetPrefix: "p/" }), /<LoggingEnabled><TargetBucket>t<\/TargetBucket><TargetPrefix>p\/<\/TargetPrefix><\/LoggingEnabled>/);
    assert.match(xml({ targetBucket: "t", targetPrefix: "p/", keyFormat: { kind: "simple" } }), /<TargetObjectKeyFormat><SimplePrefix><\/SimplePrefix><\/TargetObjectKeyFormat>/);
    assert.match(
      xml({ targetBucket: "t", targetPrefix: "p/", keyFormat: { kind: "partitioned", dateSource: "EventTime" }, targetGrants: [{ id: "abc", permission: "READ" }] }),
      /<TargetGrants><Grant><Grantee xmlns:xsi="http:\/\/www.w3.org\/2001\/XMLSchema-instance" xsi:type="CanonicalUser"><ID>abc<\/ID><DisplayName>owner<\/DisplayName><\/Grantee><Permission>READ<\/Permission><\/Grant><\/TargetGrants>.*<PartitionedPrefix><PartitionDateSource>EventTime<\/PartitionDateSource><\/PartitionedPrefix>/,
    );
  });
});

describe("RequestPaymentConfiguration", () => {
  it("reads Payer, BucketOwner or Requester, and refuses anything else", () => {
    assert.equal(parseRequestPayment(Buffer.from('<RequestPaymentConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Payer>Requester</Payer></RequestPaymentConfiguration>')), "Requester");
    assert.equal(parseRequestPayment(Buffer.from("<RequestPaymentConfiguration><Payer>BucketOwner</Payer></RequestPaymentConfiguration>")), "BucketOwner");
    for (const bad of ["<RequestPaymentConfiguration><Payer>Anyone</Payer></RequestPaymentConfiguration>", "<RequestPaymentConfiguration/>", "<Payer>Requester</Payer>"]) {
      assert.throws(() => parseRequestPayment(Buffer.from(bad)), (e: unknown) => e instanceof S3Error && e.code === "MalformedXML", bad);
    }
  });
});
