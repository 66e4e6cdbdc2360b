// The inventory configuration API: PutBucketInventoryConfiguration, GetBucketInventoryConfiguration,
// ListBucketInventoryConfigurations and DeleteBucketInventoryConfiguration. Validation lives in
// src/inventory/config.ts; configurations are stored as their validated model, never as XML.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketInventoryConfiguration.html
import { S3Error } from "../errors.js";
import { parseXml, readBody } from "../xml/codec.js";
import type { Handler } from "./types.js";
import { configPage, requiredId } from "./config-pages.js";
import {
  MAX_INVENTORY_CONFIGURATIONS,
  inventoryConfigurationFromJson,
  inventoryConfigurationToJson,
  inventoryConfigurationToXml,
  parseInventoryConfiguration,
} from "../inventory/config.js";

const KIND = "inventory";
/** Far above any valid configuration (1,000 ids of 64 characters fit in a few KiB). */
const MAX_BODY_BYTES = 64 * 1024;


export const putBucketInventoryConfiguration: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const id = requiredId(req);
  const config = parseInventoryConfiguration(parseXml(await readBody(req.body, MAX_BODY_BYTES), "InventoryConfiguration"));
  if (config.id !== id) throw new S3Error("IdMismatch");
  const stored = await ctx.metadata.putBucketConfig(bucket, KIND, id, inventoryConfigurationToJson(config), MAX_INVENTORY_CONFIGURATIONS);
  if (!stored) throw new S3Error("TooManyConfigurations");
  return { status: 204 };
};

export const getBucketInventoryConfiguration: Handler = async (req, ctx) => {
  const json = await ctx.metadata.getBucketConfig(req.bucketRecord!.name, KIND, requiredId(req));
  if (json === undefined) throw new S3Error("NoSuchConfiguration");
  return { xml: { root: "InventoryConfiguration", value: inventoryConfigurationToXml(inventoryConfigurationFromJson(json)) } };
};

export const deleteBucketInventoryConfiguration: Handler = async (req, ctx) => {
  const deleted = await ctx.metadata.deleteBucketConfig(req.bucketRecord!, KIND, requiredId(req));
  if (!deleted) throw new S3Error("NoSuchConfiguration");
  return { status: 204 };
};

export const listBucketInventoryConfigurations: Handler = async (req, ctx) => {
  const { jsons, ...tokens } = await configPage(req, ctx, KIND, "inv1:");
  return {
    xml: {
      root: "ListInventoryConfigurationsResult",
      value: { InventoryConfiguration: jsons.map((j) => inventoryConfigurationToXml(inventoryConfigurationFromJson(j))), ...tokens },
    },
  };
};
