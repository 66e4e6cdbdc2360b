// Access log records and log object keys against S3's documented format: the fields in order,
// "-" for what is empty, quoting that a shell-style splitter (as log readers use) reads whole.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  eventDay,
  formatRecord,
  groupsByEventDay,
  logKey,
  logObjectKey,
  logTime,
  operationName,
  type AccessLogRecord,
} from "./access-log-format.js";

const OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

const base: AccessLogRecord = {
  bucketOwner: OWNER,
  bucket: "amzn-s3-demo-bucket1",
  time: new Date(Date.UTC(2019, 1, 6, 0, 1, 57)),
  remoteIp: "192.0.2.3",
  requester: OWNER,
  requestId: "DD6CC733AEXAMPLE",
  operation: "REST.PUT.OBJECT",
  key: "s3-dg.pdf",
  requestUri: "PUT /amzn-s3-demo-bucket1/s3-dg.pdf HTTP/1.1",
  status: 200,
  bytesSent: 0,
  objectSize: 4406583,
  totalTimeMs: 41754,
  turnAroundTimeMs: 28,
  userAgent: "S3Console/0.4",
  hostId: "10S62Zv81kBW7BB6SX4XJ48o6kpcl6LPwEoizZQQxJd5qDSCTLX0TgS37kYUBKQW3+bPdrg1234=",
  signatureVersion: "SigV4",
  authType: "AuthHeader",
  hostHeader: "amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com",
  aclRequired: false,
};

/** The fields as a reader splits them: brackets read as quotes, quoted fields unescaped. */
function split(line: string): string[] {
  const fields: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|\[([^\]]*)\]|(\S+)/g;
  for (const m of line.matchAll(re)) fields.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]!));
  return fields;
}

describe("access log records", () => {
  it("writes S3's example PUT record field for field", () => {
    // The fifth record of the example in S3's LogFormat page, with the fields added since.
    assert.equal(
      formatRecord(base),
      `${OWNER} amzn-s3-demo-bucket1 [06/Feb/2019:00:01:57 +0000] 192.0.2.3 ${OWNER} DD6CC733AEXAMPLE REST.PUT.OBJECT s3-dg.pdf ` +
        `"PUT /amzn-s3-demo-bucket1/s3-dg.pdf HTTP/1.1" 200 - - 4406583 41754 28 "-" "S3Console/0.4" - ` +
        "10S62Zv81kBW7BB6SX4XJ48o6kpcl6LPwEoizZQQxJd5qDSCTLX0TgS37kYUBKQW3+bPdrg1234= SigV4 - AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com - - -",
    );
  });

  it("has the 26 documented fields, each '-' when empty", () => {
    const fields = split(formatRecord({ bucketOwner: OWNER, bucket: "b", time: new Date(0), requestId: "R", operation: "REST.GET.BUCKET", requestUri: "GET /b HTTP/1.1", status: 403, errorCode: "AccessDenied", hostId: "H", aclRequired: true }));
    assert.equal(fields.length, 26);
    assert.deepEqual(fields, [OWNER, "b", "01/Jan/1970:00:00:00 +0000", "-", "-", "R", "REST.GET.BUCKET", "-", "GET /b HTTP/1.1", "403", "AccessDenied", "-", "-", "-", "-", "-", "-", "-", "H", "-", "-", "-", "-", "-", "-", "Yes"]);
  });

  it("keeps a quoted field whole when it holds quotes, backslashes and spaces", () => {
    const agent = 'aws-cli/2 "quoted" \\path with spaces';
    const fields = split(formatRecord({ ...base, userAgent: agent, referer: "http://example.com/a b" }));
    assert.equal(fields.length, 26);
    assert.equal(fields[15], "http://example.com/a b");
    assert.equal(fields[16], agent);
  });

  it("percent-encodes every character a reader may take for a line break or a control, so no field forges a second record", () => {
    const forged = "x\u0085127.0.0.1 REST.DELETE.OBJECT\u2028\u2029\r\n\u001b[2J";
    const line = formatRecord({ ...base, userAgent: forged, referer: forged, hostHeader: "h\u0085ost" });
    assert.deepEqual(line.split(/\r\n|[\n\v\f\r\u001c-\u001e\u0085\u2028\u2029]/), [line], "one line, as Python's splitlines reads it");
    assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(line));
    const fields = split(line);
    assert.equal(fields.length, 26);
    assert.equal(fields[16], "x%C2%85127.0.0.1 REST.DELETE.OBJECT%E2%80%A8%E2%80%A9%0D%0A%1B[2J");
  });

  it("URL-encodes the key, keeping slashes, so spaces and brackets cannot split the record", () => {
    assert.equal(logKey("photos/2019/08/puppy.jpg"), "photos/2019/08/puppy.jpg");
    assert.equal(logKey("a b[1]/ü"), "a%20b%5B1%5D/%C3%BC");
    assert.equal(split(formatRecord({ ...base, key: "a b [c]" })).length, 26);
  });

  it("formats the time as [%d/%b/%Y:%H:%M:%S %z] in UTC", () => {
    assert.equal(logTime(new Date(Date.UTC(2024, 11, 31, 23, 59, 9))), "[31/Dec/2024:23:59:09 +0000]");
  });

  it("names operations REST.<method>.<resource type>, copies as COPY", () => {
    assert.equal(operationName("PutObject", "PUT"), "REST.PUT.OBJECT");
    assert.equal(operationName("GetObject", "GET"), "REST.GET.OBJECT");
    assert.equal(operationName("HeadObject", "HEAD"), "REST.HEAD.OBJECT");
    assert.equal(operationName("CopyObject", "PUT"), "REST.COPY.OBJECT");
    assert.equal(operationName("UploadPartCopy", "PUT"), "REST.COPY.PART");
    assert.equal(operationName("UploadPart", "PUT"), "REST.PUT.PART");
    assert.equal(operationName("CreateMultipartUpload", "POST"), "REST.POST.UPLOADS");
    assert.equal(operationName("ListObjectsV2", "GET"), "REST.GET.BUCKET");
    assert.equal(operationName("GetBucketVersioning", "GET"), "REST.GET.VERSIONING");
    assert.equal(operationName("GetBucketLogging", "GET"), "REST.GET.LOGGING_STATUS");
    assert.equal(operationName("GetBucketPolicy", "GET"), "REST.GET.BUCKETPOLICY");
    assert.equal(operationName("DeleteObjects", "POST"), "REST.POST.MULTI_OBJECT_DELETE");
  });
});

describe("log object keys", () => {
  const source = { accountId: "123456789012", region: "us-east-1", bucket: "src" };
  const delivered = new Date(Date.UTC(2013, 10, 1, 21, 32, 16));

  it("SimplePrefix (and no format): [TargetPrefix]YYYY-mm-DD-HH-MM-SS-[UniqueString]", () => {
    assert.equal(logObjectKey("logs/", undefined, source, delivered, "E568B2907131C0C0"), "logs/2013-11-01-21-32-16-E568B2907131C0C0");
    assert.equal(logObjectKey("logs/", { kind: "simple" }, source, delivered, "E568B2907131C0C0"), "logs/2013-11-01-21-32-16-E568B2907131C0C0");
  });

  it("PartitionedPrefix: [TargetPrefix][SourceAccountId]/[SourceRegion]/[SourceBucket]/YYYY/MM/DD/YYYY-MM-DD-hh-mm-ss-[UniqueString]", () => {
    assert.equal(
      logObjectKey("logs/", { kind: "partitioned", dateSource: "DeliveryTime" }, source, delivered, "U"),
      "logs/123456789012/us-east-1/src/2013/11/01/2013-11-01-21-32-16-U",
    );
  });

  it("EventTime: one object per day of the records, keyed by that day at 00:00:00", () => {
    assert.equal(groupsByEventDay({ kind: "partitioned", dateSource: "EventTime" }), true);
    assert.equal(groupsByEventDay({ kind: "partitioned" }), true, "EventTime is PartitionedPrefix's default");
    assert.equal(groupsByEventDay({ kind: "partitioned", dateSource: "DeliveryTime" }), false);
    assert.equal(groupsByEventDay(undefined), false);
    assert.equal(
      logObjectKey("", { kind: "partitioned" }, source, eventDay(delivered), "U"),
      "123456789012/us-east-1/src/2013/11/01/2013-11-01-00-00-00-U",
    );
  });
});
