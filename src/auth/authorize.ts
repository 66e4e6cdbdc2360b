// Authorization of a request against the bucket it addresses. Until bucket policies exist
// (issue 5), S3's default applies: the bucket owner's account may do everything, anyone else
// nothing. The action name comes from the operation table so policies can plug in here.
import { S3Error } from "../errors.js";
import type { BucketRecord } from "../storage/types.js";
import type { Principal } from "../server/types.js";

export interface AuthorizationRequest {
  principal: Principal;
  action: string;
  bucket: BucketRecord;
  key?: string;
}

export function authorize(request: AuthorizationRequest): void {
  const { principal, bucket } = request;
  if (principal.kind === "account" && principal.accountId === bucket.ownerAccountId) return;
  throw new S3Error("AccessDenied");
}

/** x-amz-expected-bucket-owner: a mismatch is AccessDenied, checked before any policy. */
export function checkExpectedOwner(expected: string | string[] | undefined, bucket: BucketRecord): void {
  if (expected === undefined) return;
  const value = Array.isArray(expected) ? expected[0] : expected;
  if (value !== bucket.ownerAccountId) throw new S3Error("AccessDenied");
}
