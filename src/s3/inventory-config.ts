// The inventory configuration API: PutBucketInventoryConfiguration, GetBucketInventoryConfiguration,
// ListBucketInventoryConfigurations and DeleteBucketInventoryConfiguration. Validation lives in
// src/inventory/config.ts; configurations are stored as their validated model, never as XML.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketInventoryConfiguration.html
import { S3Error } from "../errors.js";
import { parseXml, readBody } from "../xml/codec.js";
import type { Handler, S3Request } from "../server/types.js";
import {
  MAX_INVENTORY_CONFIGURATIONS,
  inventoryConfigurationFromJson,
  inventoryConfigurationToJson,
  inventoryConfigurationToXml,
  parseInventoryConfiguration,
} from "../inventory/config.js";

const KIND = "inventory";
const PAGE_SIZE = 100;
/** Far above any valid configuration (1,000 ids of 64 characters fit in a few KiB). */
const MAX_BODY_BYTES = 64 * 1024;

function requiredId(req: S3Request): string {
  const id = req.query.get("id");
  if (id === null || id === "") throw new S3Error("InvalidArgument", "Missing required parameter: id", { ArgumentName: "id" });
  return id;
}

export const putBucketInventoryConfiguration: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!.name;
  const id = requiredId(req);
  const config = parseInventoryConfiguration(parseXml(await readBody(req.body, MAX_BODY_BYTES), "InventoryConfiguration"));
  if (config.id !== id) throw new S3Error("IdMismatch");
  const stored = await ctx.metadata.putBucketConfig(bucket, KIND, id, inventoryConfigurationToJson(config), MAX_INVENTORY_CONFIGURATIONS);
  if (!stored) throw new S3Error("TooManyConfigurations");
  return { status: 204 };
};

export const getBucketInventoryConfiguration: Handler = async (req, ctx) => {
  const json = ctx.metadata.getBucketConfig(req.bucketRecord!.name, KIND, requiredId(req));
  if (json === undefined) throw new S3Error("NoSuchConfiguration");
  return { xml: { root: "InventoryConfiguration", value: inventoryConfigurationToXml(inventoryConfigurationFromJson(json)) } };
};

export const deleteBucketInventoryConfiguration: Handler = async (req, ctx) => {
  const deleted = await ctx.metadata.deleteBucketConfig(req.bucketRecord!.name, KIND, requiredId(req));
  if (!deleted) throw new S3Error("NoSuchConfiguration");
  return { status: 204 };
};

export const listBucketInventoryConfigurations: Handler = async (req, ctx) => {
  const token = req.query.get("continuation-token");
  let after: string | undefined;
  if (token !== null) {
    const decoded = Buffer.from(token, "base64url").toString("utf8");
    if (!decoded.startsWith("inv1:")) throw new S3Error("InvalidArgument", "The continuation token provided is incorrect", { ArgumentName: "continuation-token" });
    after = decoded.slice(5);
  }
  const rows = ctx.metadata.listBucketConfigs(req.bucketRecord!.name, KIND, after, PAGE_SIZE + 1);
  const page = rows.slice(0, PAGE_SIZE);
  const truncated = rows.length > PAGE_SIZE;
  return {
    xml: {
      root: "ListInventoryConfigurationsResult",
      value: {
        InventoryConfiguration: page.map((r) => inventoryConfigurationToXml(inventoryConfigurationFromJson(r.json))),
        IsTruncated: truncated,
        ContinuationToken: token ?? undefined,
        NextContinuationToken: truncated ? Buffer.from("inv1:" + page[page.length - 1]!.id).toString("base64url") : undefined,
      },
    },
  };
};
