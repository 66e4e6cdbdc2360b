// The Intelligent-Tiering configuration API: PutBucketIntelligentTieringConfiguration,
// GetBucketIntelligentTieringConfiguration, ListBucketIntelligentTieringConfigurations and
// DeleteBucketIntelligentTieringConfiguration. Validation lives in src/tiering/config.ts;
// configurations are stored as their validated model, never as XML.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketIntelligentTieringConfiguration.html
import { S3Error } from "../errors.js";
import { parseXml, readBody } from "../xml/codec.js";
import type { Handler } from "./types.js";
import { configPage, requiredId } from "./config-pages.js";
import {
  MAX_TIERING_CONFIGURATIONS,
  TIERING_CONFIG_KIND,
  parseTieringConfiguration,
  tieringConfigurationFromJson,
  tieringConfigurationToXml,
} from "../tiering/config.js";

/** Far above any valid configuration (two tierings and a filter of a few tags). */
const MAX_BODY_BYTES = 64 * 1024;


export const putBucketIntelligentTieringConfiguration: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const id = requiredId(req);
  const config = parseTieringConfiguration(parseXml(await readBody(req.body, MAX_BODY_BYTES), "IntelligentTieringConfiguration"));
  if (config.id !== id) throw new S3Error("IdMismatch");
  const stored = await ctx.metadata.putBucketConfig(bucket, TIERING_CONFIG_KIND, id, JSON.stringify(config), MAX_TIERING_CONFIGURATIONS);
  if (!stored) throw new S3Error("TooManyConfigurations");
  return {};
};

export const getBucketIntelligentTieringConfiguration: Handler = async (req, ctx) => {
  const json = await ctx.metadata.getBucketConfig(req.bucketRecord!.name, TIERING_CONFIG_KIND, requiredId(req));
  if (json === undefined) throw new S3Error("NoSuchConfiguration");
  return { xml: { root: "IntelligentTieringConfiguration", value: tieringConfigurationToXml(tieringConfigurationFromJson(json)) } };
};

export const deleteBucketIntelligentTieringConfiguration: Handler = async (req, ctx) => {
  const deleted = await ctx.metadata.deleteBucketConfig(req.bucketRecord!, TIERING_CONFIG_KIND, requiredId(req));
  if (!deleted) throw new S3Error("NoSuchConfiguration");
  return { status: 204 };
};

export const listBucketIntelligentTieringConfigurations: Handler = async (req, ctx) => {
  const { jsons, ...tokens } = await configPage(req, ctx, TIERING_CONFIG_KIND, "it1:");
  return {
    xml: {
      root: "ListBucketIntelligentTieringConfigurationsOutput",
      value: { ...tokens, IntelligentTieringConfiguration: jsons.map((j) => tieringConfigurationToXml(tieringConfigurationFromJson(j))) },
    },
  };
};
