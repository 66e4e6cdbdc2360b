// Bucket policy operations: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy,
// GetBucketPolicyStatus. Only the bucket owner's account may use them, as in S3 (another account
// gets 405 MethodNotAllowed even when a policy would allow it). A public policy (isPublicPolicy) is
// refused while the bucket's Block Public Access sets BlockPublicPolicy (public-access-block.ts).
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html
import { S3Error } from "../errors.js";
import { readBody } from "../xml/codec.js";
import type { Handler, S3Request } from "./types.js";
import { isPublicPolicy, MAX_POLICY_BYTES } from "../auth/policy.js";
import { refusePublicPolicy } from "./public-access-block.js";

function ownerOnly(req: S3Request): void {
  if (req.principal.kind !== "account" || req.principal.accountId !== req.bucketRecord!.ownerAccountId) {
    throw new S3Error("MethodNotAllowed");
  }
}

async function readPolicy(req: S3Request): Promise<string> {
  try {
    return (await readBody(req.body, MAX_POLICY_BYTES)).toString("utf8");
  } catch (err) {
    if (err instanceof S3Error && err.code === "MalformedXML") throw new S3Error("MalformedPolicy", `Policies must not exceed ${MAX_POLICY_BYTES} bytes`);
    throw err;
  }
}

export const putBucketPolicy: Handler = async (req, ctx) => {
  ownerOnly(req);
  const text = await readPolicy(req);
  const compiled = ctx.policies.compile(req.bucketRecord!.name, text);
  // A malformed policy is MalformedPolicy whatever the bucket's Block Public Access says.
  await refusePublicPolicy(ctx, req.bucketRecord!, compiled);
  await ctx.policies.put(req.bucketRecord!, text, compiled);
  return { status: 204 };
};

export const getBucketPolicy: Handler = async (req, ctx) => {
  ownerOnly(req);
  const text = await ctx.policies.text(req.bucketRecord!.name);
  if (text === undefined) throw new S3Error("NoSuchBucketPolicy", undefined, { BucketName: req.bucketRecord!.name });
  return { headers: { "Content-Type": "application/json" }, body: Buffer.from(text) };
};

export const deleteBucketPolicy: Handler = async (req, ctx) => {
  ownerOnly(req);
  await ctx.policies.delete(req.bucketRecord!);
  return { status: 204 };
};

export const getBucketPolicyStatus: Handler = async (req, ctx) => {
  ownerOnly(req);
  const policy = await ctx.policies.get(req.bucketRecord!.name);
  if (!policy) throw new S3Error("NoSuchBucketPolicy", undefined, { BucketName: req.bucketRecord!.name });
  return { xml: { root: "PolicyStatus", value: { IsPublic: isPublicPolicy(policy) } } };
};
