// The Intelligent-Tiering configuration API: PutBucketIntelligentTieringConfiguration,
// GetBucketIntelligentTieringConfiguration, ListBucketIntelligentTieringConfigurations and
// DeleteBucketIntelligentTieringConfiguration. Validation lives in src/tiering/config.ts;
// configurations are stored as their validated model, never as XML.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketIntelligentTieringConfiguration.html
import { S3Error } from "../errors.js";
import { parseXml, readBody } from "../xml/codec.js";
import type { Handler, S3Request } from "../server/types.js";
import {
  MAX_TIERING_CONFIGURATIONS,
  TIERING_CONFIG_KIND,
  parseTieringConfiguration,
  tieringConfigurationFromJson,
  tieringConfigurationToXml,
} from "../tiering/config.js";

const PAGE_SIZE = 100;
const TOKEN_PREFIX = "it1:";
/** Far above any valid configuration (two tierings and a filter of a few tags). */
const MAX_BODY_BYTES = 64 * 1024;

function requiredId(req: S3Request): string {
  const id = req.query.get("id");
  if (id === null || id === "") throw new S3Error("InvalidArgument", "Missing required parameter: id", { ArgumentName: "id" });
  return id;
}

export const putBucketIntelligentTieringConfiguration: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!.name;
  const id = requiredId(req);
  const config = parseTieringConfiguration(parseXml(await readBody(req.body, MAX_BODY_BYTES), "IntelligentTieringConfiguration"));
  if (config.id !== id) throw new S3Error("IdMismatch");
  const stored = await ctx.metadata.putBucketConfig(bucket, TIERING_CONFIG_KIND, id, JSON.stringify(config), MAX_TIERING_CONFIGURATIONS);
  if (!stored) throw new S3Error("TooManyConfigurations");
  return {};
};

export const getBucketIntelligentTieringConfiguration: Handler = async (req, ctx) => {
  const json = ctx.metadata.getBucketConfig(req.bucketRecord!.name, TIERING_CONFIG_KIND, requiredId(req));
  if (json === undefined) throw new S3Error("NoSuchConfiguration");
  return { xml: { root: "IntelligentTieringConfiguration", value: tieringConfigurationToXml(tieringConfigurationFromJson(json)) } };
};

export const deleteBucketIntelligentTieringConfiguration: Handler = async (req, ctx) => {
  const deleted = await ctx.metadata.deleteBucketConfig(req.bucketRecord!.name, TIERING_CONFIG_KIND, requiredId(req));
  if (!deleted) throw new S3Error("NoSuchConfiguration");
  return { status: 204 };
};

export const listBucketIntelligentTieringConfigurations: Handler = async (req, ctx) => {
  const token = req.query.get("continuation-token");
  let after: string | undefined;
  if (token !== null) {
    const decoded = Buffer.from(token, "base64url").toString("utf8");
    if (!decoded.startsWith(TOKEN_PREFIX)) {
      throw new S3Error("InvalidArgument", "The continuation token provided is incorrect", { ArgumentName: "continuation-token" });
    }
    after = decoded.slice(TOKEN_PREFIX.length);
  }
  const rows = ctx.metadata.listBucketConfigs(req.bucketRecord!.name, TIERING_CONFIG_KIND, after, PAGE_SIZE + 1);
  const page = rows.slice(0, PAGE_SIZE);
  const truncated = rows.length > PAGE_SIZE;
  return {
    xml: {
      root: "ListBucketIntelligentTieringConfigurationsOutput",
      value: {
        IsTruncated: truncated,
        ContinuationToken: token ?? undefined,
        NextContinuationToken: truncated ? Buffer.from(TOKEN_PREFIX + page[page.length - 1]!.id).toString("base64url") : undefined,
        IntelligentTieringConfiguration: page.map((r) => tieringConfigurationToXml(tieringConfigurationFromJson(r.json))),
      },
    },
  };
};
