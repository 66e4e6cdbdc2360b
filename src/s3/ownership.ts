// S3 Object Ownership: who owns the objects written into a bucket and whether ACLs apply at all.
// GetBucketOwnershipControls, DeleteBucketOwnershipControls, the model PutBucketOwnershipControls
// stores (its handler is in acl.ts: disabling ACLs depends on the bucket ACL) and CreateBucket's
// x-amz-object-ownership header. See docs/acl.md.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html
import { S3Error } from "../errors.js";
import { asArray, elementOf, parseXml, textOf, type XmlNode } from "../xml/codec.js";
import type { Handler, ServerContext } from "./types.js";

export const ObjectOwnerships = ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"] as const;
export type ObjectOwnership = (typeof ObjectOwnerships)[number];

/** What is stored under the bucket setting OWNERSHIP_KIND. */
export interface OwnershipControls {
  objectOwnership: ObjectOwnership;
}

export const OWNERSHIP_KIND = "ownership";

/**
 * The ownership rule in force. CreateBucket stores one for every new bucket (BucketOwnerEnforced
 * unless the request says otherwise); a bucket without one (its controls deleted, or made before
 * ownership controls existed) behaves as S3's buckets without controls: ObjectWriter.
 */
export async function objectOwnershipOf(ctx: ServerContext, bucket: string): Promise<ObjectOwnership> {
  return (await ctx.settings.get<OwnershipControls>(bucket, OWNERSHIP_KIND))?.objectOwnership ?? "ObjectWriter";
}

export async function aclsEnabled(ctx: ServerContext, bucket: string): Promise<boolean> {
  return (await objectOwnershipOf(ctx, bucket)) !== "BucketOwnerEnforced";
}

export function isObjectOwnership(value: string): value is ObjectOwnership {
  return (ObjectOwnerships as readonly string[]).includes(value);
}

/** CreateBucket's x-amz-object-ownership: absent means BucketOwnerEnforced, S3's default since April 2023. */
export function ownershipHeader(value: string | undefined): ObjectOwnership {
  if (value === undefined) return "BucketOwnerEnforced";
  if (!isObjectOwnership(value)) throw new S3Error("InvalidArgument", `Invalid x-amz-object-ownership header: ${value}`, { ArgumentName: "x-amz-object-ownership", ArgumentValue: value });
  return value;
}

export function parseOwnershipControls(body: Buffer): OwnershipControls {
  const doc = parseXml(body, "OwnershipControls");
  const rules = asArray(doc.Rule as XmlNode | XmlNode[] | undefined);
  if (rules.length !== 1 || typeof rules[0] !== "object" || Array.isArray(rules[0])) throw new S3Error("MalformedXML");
  const rule = elementOf(doc, "Rule")!;
  const value = textOf(rule, "ObjectOwnership")?.trim();
  if (value === undefined || !isObjectOwnership(value)) throw new S3Error("MalformedXML");
  return { objectOwnership: value };
}

export const getBucketOwnershipControls: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!.name;
  const controls = await ctx.settings.get<OwnershipControls>(bucket, OWNERSHIP_KIND);
  if (!controls) throw new S3Error("OwnershipControlsNotFoundError", undefined, { BucketName: bucket });
  return { xml: { root: "OwnershipControls", value: { Rule: { ObjectOwnership: controls.objectOwnership } } } };
};

export const deleteBucketOwnershipControls: Handler = async (req, ctx) => {
  await ctx.settings.delete(req.bucketRecord!, OWNERSHIP_KIND);
  return { status: 204 };
};
