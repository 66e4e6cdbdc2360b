// Bucket operations: CreateBucket, HeadBucket, ListBuckets, DeleteBucket, GetBucketLocation.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
import { S3Error } from "../errors.js";
import { elementOf, parseXml, readBody, textOf } from "../xml/codec.js";
import type { Handler, S3Request } from "./types.js";
import { isValidBucketName } from "../bucket-names.js";
import { isManagedTableBucketName } from "../metadata-tables/config.js";
import { canonicalIdFor } from "../auth/accounts.js";
import * as core from "../core/buckets.js";
import { bucketCreation } from "./capability-hooks.js";

function callerAccount(req: S3Request): string {
  if (req.principal.kind !== "account") throw new S3Error("AccessDenied");
  return req.principal.accountId;
}

const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** The region named by a CreateBucketConfiguration, if the body has one. */
async function requestedLocation(req: S3Request): Promise<string | undefined> {
  const body = await readBody(req.body, 64 * 1024);
  if (body.length === 0) return undefined;
  const config = parseXml(body, "CreateBucketConfiguration");
  const constraint = textOf(config, "LocationConstraint");
  // Bucket type and location-info elements of directory buckets are accepted and ignored.
  elementOf(config, "Location");
  return constraint === "" ? undefined : constraint;
}

export const createBucket: Handler = async (req, ctx) => {
  const owner = callerAccount(req);
  const name = req.bucket!;
  if (!isValidBucketName(name) || isManagedTableBucketName(name)) throw new S3Error("InvalidBucketName", undefined, { BucketName: name });
  const region = ctx.config.region;
  const creation = await bucketCreation(req, ctx);
  const location = await requestedLocation(req);
  if (location !== undefined && !REGION_NAME.test(location) && location !== "EU") {
    throw new S3Error("InvalidLocationConstraint", undefined, { LocationConstraint: location });
  }
  if (region === "us-east-1") {
    if (location !== undefined) {
      throw location === "us-east-1"
        ? new S3Error("InvalidLocationConstraint", undefined, { LocationConstraint: location })
        : new S3Error("IllegalLocationConstraintException", `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to.`);
    }
  } else if (location !== region) {
    throw new S3Error(
      "IllegalLocationConstraintException",
      location === undefined
        ? undefined
        : `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    );
  }
  const created = await core.createBucket(ctx, { name, ownerAccountId: owner, versioning: creation.versioning, settings: creation.settings });
  if (!created) {
    const existing = await ctx.metadata.getBucket(name);
    if (existing?.ownerAccountId === owner) {
      // S3's legacy answer in us-east-1 only: creating a bucket you already own there succeeds.
      if (region === "us-east-1") return { headers: { Location: "/" + name } };
      throw new S3Error("BucketAlreadyOwnedByYou", undefined, { BucketName: name });
    }
    throw new S3Error("BucketAlreadyExists", undefined, { BucketName: name });
  }
  return { headers: { Location: "/" + name } };
};

export const headBucket: Handler = async (req) => ({
  headers: { "x-amz-bucket-region": req.bucketRecord!.region, "x-amz-access-point-alias": "false" },
});

export const deleteBucket: Handler = async (req, ctx) => {
  if (!(await core.deleteBucket(ctx, req.bucketRecord!))) throw new S3Error("BucketNotEmpty", undefined, { BucketName: req.bucket! });
  return { status: 204 };
};

export const getBucketLocation: Handler = async (req) => {
  const region = req.bucketRecord!.region;
  // us-east-1 is the empty location constraint, for historical reasons.
  return { xml: { root: "LocationConstraint", value: region === "us-east-1" ? {} : { "#text": region } } };
};

export const listBuckets: Handler = async (req, ctx) => {
  const owner = callerAccount(req);
  const prefix = req.query.get("prefix") ?? "";
  const maxParam = req.query.get("max-buckets");
  let max = 10_000;
  if (maxParam !== null) {
    max = Number(maxParam);
    if (!Number.isInteger(max) || max < 1 || max > 10_000) throw new S3Error("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000.");
  }
  const token = req.query.get("continuation-token");
  const after = token ? Buffer.from(token, "base64url").toString("utf8") : "";
  const all = (await ctx.metadata.listBuckets(owner)).filter((b) => b.name.startsWith(prefix) && b.name > after);
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  const account = await ctx.metadata.getAccount(owner);
  return {
    xml: {
      root: "ListAllMyBucketsResult",
      value: {
        Owner: { ID: account?.canonicalId ?? canonicalIdFor(owner), DisplayName: account?.displayName },
        Buckets: { Bucket: page.map((b) => ({ Name: b.name, CreationDate: b.createdAt.toISOString(), BucketRegion: b.region })) },
        Prefix: req.query.has("prefix") ? prefix : undefined,
        ContinuationToken: truncated ? Buffer.from(page[page.length - 1]!.name).toString("base64url") : undefined,
      },
    },
  };
};
