// Block Public Access for a bucket: PutPublicAccessBlock, GetPublicAccessBlock and
// DeletePublicAccessBlock, and the setting's reader for the places that enforce it:
// - BlockPublicPolicy: PutBucketPolicy refuses a public policy (refusePublicPolicy, policy.ts);
// - BlockPublicAcls: writes and Put*Acl refuse a public ACL (acl.ts);
// - IgnorePublicAcls: authorization and Get*Acl leave public grants out (acl.ts);
// - RestrictPublicBuckets: a public policy allows only the owner's account and service principals
//   (authorize() in src/auth/authorize.ts, through the lookup restrictsPublicBuckets gives
//   BucketPolicies at start-up).
// What "public" means is S3's: src/auth/policy.ts (isPublicPolicy) and acl.ts (isPublicGrant).
// See docs/policies.md, "Block Public Access".
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
import { S3Error } from "../errors.js";
import { onlyChildren, parseXml, schemaError, textOf } from "../xml/codec.js";
import type { Handler, ServerContext } from "./types.js";
import type { BucketSettings } from "../core/bucket-settings.js";
import type { BucketRecord } from "../storage/types.js";
import type { RestrictsPublicBuckets } from "../auth/bucket-policies.js";
import { isPublicPolicy, type CompiledPolicy } from "../auth/policy.js";
import { readChecksummedBody } from "./checksummed-body.js";

/** The bucket setting the configuration is stored under (src/core/bucket-settings.ts). */
export const PUBLIC_ACCESS_BLOCK_KIND = "publicAccessBlock";

/** What is stored: the four settings, each false unless the configuration set it true. */
export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

const ELEMENTS: [string, keyof PublicAccessBlock][] = [
  ["BlockPublicAcls", "blockPublicAcls"],
  ["IgnorePublicAcls", "ignorePublicAcls"],
  ["BlockPublicPolicy", "blockPublicPolicy"],
  ["RestrictPublicBuckets", "restrictPublicBuckets"],
];

/** Four booleans and an envelope. */
const BODY_LIMIT = 64 * 1024;

/**
 * A PublicAccessBlockConfiguration document. Each element is optional (absent is false) and, when
 * present, `true` or `false` (in any case); anything else, or another element, is MalformedXML.
 */
export function parsePublicAccessBlock(body: Buffer): PublicAccessBlock {
  const doc = parseXml(body, "PublicAccessBlockConfiguration");
  onlyChildren(doc, ELEMENTS.map(([name]) => name), "PublicAccessBlockConfiguration");
  const config: PublicAccessBlock = { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };
  for (const [name, field] of ELEMENTS) {
    const text = textOf(doc, name)?.trim().toLowerCase();
    if (text === undefined) continue;
    if (text !== "true" && text !== "false") throw schemaError(`${name} must be true or false`);
    config[field] = text === "true";
  }
  return config;
}

/** The GetPublicAccessBlock document: every setting, in S3's order. */
export function publicAccessBlockXml(config: PublicAccessBlock): Record<string, unknown> {
  return Object.fromEntries(ELEMENTS.map(([name, field]) => [name, config[field]]));
}

/** The bucket's configuration, or undefined when it has none (cached by ctx.settings, absence too). */
export function publicAccessBlockOf(settings: BucketSettings, bucket: string): Promise<PublicAccessBlock | undefined> {
  return settings.get<PublicAccessBlock>(bucket, PUBLIC_ACCESS_BLOCK_KIND);
}

/** For BucketPolicies (startServer): whether a bucket sets RestrictPublicBuckets. */
export function restrictsPublicBuckets(settings: BucketSettings): RestrictsPublicBuckets {
  return async (bucket) => (await publicAccessBlockOf(settings, bucket))?.restrictPublicBuckets ?? false;
}

/** BlockPublicPolicy: PutBucketPolicy with a public policy is 403 AccessDenied (the stored policy stays). */
export async function refusePublicPolicy(ctx: ServerContext, bucket: BucketRecord, policy: CompiledPolicy): Promise<void> {
  if (!isPublicPolicy(policy)) return;
  if ((await publicAccessBlockOf(ctx.settings, bucket.name))?.blockPublicPolicy) throw new S3Error("AccessDenied");
}

// ---- Put/Get/DeletePublicAccessBlock ----

export const putPublicAccessBlock: Handler = async (req, ctx) => {
  const config = parsePublicAccessBlock(await readChecksummedBody(req, BODY_LIMIT));
  await ctx.settings.put(req.bucketRecord!, PUBLIC_ACCESS_BLOCK_KIND, config);
  return {};
};

export const getPublicAccessBlock: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!.name;
  const config = await publicAccessBlockOf(ctx.settings, bucket);
  if (!config) throw new S3Error("NoSuchPublicAccessBlockConfiguration", undefined, { BucketName: bucket });
  return { xml: { root: "PublicAccessBlockConfiguration", value: publicAccessBlockXml(config) } };
};

export const deletePublicAccessBlock: Handler = async (req, ctx) => {
  await ctx.settings.delete(req.bucketRecord!, PUBLIC_ACCESS_BLOCK_KIND);
  return { status: 204 };
};
