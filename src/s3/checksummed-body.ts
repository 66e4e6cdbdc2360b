// The body of a configuration PUT that S3 accepts only with an integrity check (lifecycle, bucket
// and object tagging): Content-MD5 or an x-amz-checksum-* value, either of which must match.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
import { createHash } from "node:crypto";
import { S3Error } from "../errors.js";
import { checksumBase64 } from "../crypto/checksums.js";
import type { S3Request } from "./types.js";
import { readBody } from "../xml/codec.js";
import { requestedChecksums } from "../core/bodies.js";
import { declaredChecksumAlgorithm, expectedMd5 } from "./request.js";

export async function readChecksummedBody(req: S3Request, limit: number): Promise<Buffer> {
  const md5 = expectedMd5(req.headers);
  const algorithm = declaredChecksumAlgorithm(req.headers);
  if (!md5 && !algorithm) {
    throw new S3Error("InvalidRequest", "Missing required header for this request: Content-MD5 or x-amz-checksum-*");
  }
  const body = await readBody(req.body, limit);
  if (md5 && !md5.equals(createHash("md5").update(body).digest())) throw new S3Error("BadDigest");
  // A trailing checksum (aws-chunked) was verified while the body streamed; a header one is checked here.
  const declared = algorithm ? requestedChecksums(req.headers)[algorithm] : undefined;
  if (algorithm && declared !== undefined && declared !== checksumBase64(algorithm, body)) {
    throw new S3Error("BadDigest", `The ${algorithm} you specified did not match the calculated checksum.`);
  }
  return body;
}
