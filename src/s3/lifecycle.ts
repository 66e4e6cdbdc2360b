// Bucket lifecycle configuration: PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration
// and DeleteBucketLifecycle. The model and its validation are src/lifecycle/rules.ts; the rules act
// in the background pass (src/lifecycle/pass.ts). See docs/lifecycle.md.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
import { S3Error } from "../errors.js";
import type { Handler } from "./types.js";
import { LIFECYCLE_KIND, lifecycleConfigurationXml, parseLifecycleConfiguration, type LifecycleConfiguration } from "../lifecycle/rules.js";
import { readChecksummedBody } from "./checksummed-body.js";
import { header } from "./request.js";

/** 1,000 rules with filters and every action fit well within this. */
const LIFECYCLE_BODY_LIMIT = 2 * 1024 * 1024;
const MINIMUM_SIZE_HEADER = "x-amz-transition-default-minimum-object-size";

export const putBucketLifecycleConfiguration: Handler = async (req, ctx) => {
  const minimumSize = header(req.headers, MINIMUM_SIZE_HEADER);
  const body = await readChecksummedBody(req, LIFECYCLE_BODY_LIMIT);
  const config = parseLifecycleConfiguration(body, minimumSize);
  await ctx.settings.put(req.bucketRecord!, LIFECYCLE_KIND, config);
  return { headers: { [MINIMUM_SIZE_HEADER]: config.minimumSizeMode } };
};

export const getBucketLifecycleConfiguration: Handler = async (req, ctx) => {
  const config = await ctx.settings.get<LifecycleConfiguration>(req.bucketRecord!.name, LIFECYCLE_KIND);
  if (config === undefined) throw new S3Error("NoSuchLifecycleConfiguration", undefined, { BucketName: req.bucketRecord!.name });
  return {
    headers: { [MINIMUM_SIZE_HEADER]: config.minimumSizeMode },
    xml: { root: "LifecycleConfiguration", value: lifecycleConfigurationXml(config) },
  };
};

export const deleteBucketLifecycle: Handler = async (req, ctx) => {
  await ctx.settings.delete(req.bucketRecord!, LIFECYCLE_KIND);
  return { status: 204 };
};
