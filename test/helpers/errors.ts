// Assertions on the S3 errors the AWS SDK v3 raises.
import assert from "node:assert/strict";
import { S3ServiceException } from "@aws-sdk/client-s3";

/**
 * Expects `promise` to fail with an S3 error of this status and, when `name` is given, this code.
 * `name` undefined: a body-less answer (HEAD, 304), which the SDK cannot name.
 */
export async function rejectsWith(promise: Promise<unknown>, name: string | undefined, status: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof S3ServiceException, `expected an S3 error, got ${String(err)}`);
    if (name !== undefined) assert.equal(err.name, name);
    assert.equal(err.$metadata.httpStatusCode, status);
    return true;
  });
}
