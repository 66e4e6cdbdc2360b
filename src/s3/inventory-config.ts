// TEMPORARY placeholder until the inventory configuration module lands (issue 3).
import { S3Error } from "../errors.js";
import type { Handler } from "../server/types.js";
const notYet: Handler = async () => {
  throw new S3Error("NotImplemented");
};
export const putBucketInventoryConfiguration = notYet;
export const getBucketInventoryConfiguration = notYet;
export const listBucketInventoryConfigurations = notYet;
export const deleteBucketInventoryConfiguration = notYet;
