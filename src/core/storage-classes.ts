// The storage classes S3 accepts in x-amz-storage-class, as one catalogue.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#AmazonS3-PutObject-request-header-StorageClass
import { S3Error } from "../errors.js";

export const StorageClasses = [
  "STANDARD",
  "REDUCED_REDUNDANCY",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER",
  "DEEP_ARCHIVE",
  "OUTPOSTS",
  "GLACIER_IR",
  "SNOW",
  "EXPRESS_ONEZONE",
  "FSX_OPENZFS",
] as const;

export type StorageClass = (typeof StorageClasses)[number];

export function parseStorageClass(header: string | string[] | undefined): StorageClass {
  if (header === undefined) return "STANDARD";
  const value = Array.isArray(header) ? header[0] : header;
  if (!(StorageClasses as readonly string[]).includes(value)) throw new S3Error("InvalidStorageClass");
  return value as StorageClass;
}
