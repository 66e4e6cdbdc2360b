// The inventory configuration: its domain model, validation from the wire's element tree (with
// the error code S3 gives for each bad input), serialisation back to the wire, and the JSON form
// kept in the metadata store. Shared by the configuration API and the report engine.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_InventoryConfiguration.html
import { S3Error } from "../errors.js";
import { asArray, elementOf, onlyChildren, requiredText, schemaError, textOf, type XmlNode } from "../xml/codec.js";
import { isValidBucketName } from "../bucket-names.js";
import { isOptionalField, type InventoryOptionalField } from "./fields.js";

export const InventoryFormats = ["CSV", "ORC", "Parquet"] as const;
export type InventoryFormat = (typeof InventoryFormats)[number];
export const InventoryFrequencies = ["Daily", "Weekly"] as const;
export type InventoryFrequency = (typeof InventoryFrequencies)[number];
export const IncludedObjectVersionsValues = ["All", "Current"] as const;
export type IncludedObjectVersions = (typeof IncludedObjectVersionsValues)[number];

export type InventoryEncryption = { kind: "SSE-S3" } | { kind: "SSE-KMS"; keyId: string };

export interface InventoryDestination {
  /** As configured: arn:aws:s3:::bucket-name. */
  bucketArn: string;
  bucketName: string;
  accountId?: string;
  format: InventoryFormat;
  prefix?: string;
  encryption?: InventoryEncryption;
}

export interface InventoryConfiguration {
  id: string;
  isEnabled: boolean;
  /** Undefined when the configuration has no Filter. */
  filterPrefix?: string;
  includedObjectVersions: IncludedObjectVersions;
  /** Undefined when the configuration has no OptionalFields element; kept in the order given. */
  optionalFields?: InventoryOptionalField[];
  frequency: InventoryFrequency;
  destination: InventoryDestination;
}

export const MAX_INVENTORY_CONFIGURATIONS = 1000;
const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const BUCKET_ARN = /^arn:(aws|aws-cn|aws-us-gov):s3:::([^/]+)$/;

type Element = Record<string, XmlNode | XmlNode[]>;


function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw schemaError(`${name} must be one of ${allowed.join(", ")}`);
  return value as T;
}

export function isValidInventoryId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Validates the children of an <InventoryConfiguration> element into the domain model. */
export function parseInventoryConfiguration(doc: Element): InventoryConfiguration {
  onlyChildren(doc, ["Destination", "IsEnabled", "Filter", "Id", "IncludedObjectVersions", "OptionalFields", "Schedule"], "InventoryConfiguration");
  const id = requiredText(doc, "Id", "InventoryConfiguration");
  if (!isValidInventoryId(id)) throw schemaError("Id must be 1 to 64 characters from A-Z a-z 0-9 . _ -");
  const isEnabledText = requiredText(doc, "IsEnabled", "InventoryConfiguration");
  if (isEnabledText !== "true" && isEnabledText !== "false") throw schemaError("IsEnabled must be true or false");
  const includedObjectVersions = oneOf(requiredText(doc, "IncludedObjectVersions", "InventoryConfiguration"), IncludedObjectVersionsValues, "IncludedObjectVersions");

  const schedule = elementOf(doc, "Schedule");
  if (!schedule) throw schemaError("InventoryConfiguration requires Schedule");
  onlyChildren(schedule, ["Frequency"], "Schedule");
  const frequency = oneOf(requiredText(schedule, "Frequency", "Schedule"), InventoryFrequencies, "Frequency");

  let filterPrefix: string | undefined;
  const filter = elementOf(doc, "Filter");
  if (filter) {
    onlyChildren(filter, ["Prefix"], "Filter");
    filterPrefix = requiredText(filter, "Prefix", "Filter");
  }

  let optionalFields: InventoryOptionalField[] | undefined;
  const fields = elementOf(doc, "OptionalFields");
  if (fields) {
    onlyChildren(fields, ["Field"], "OptionalFields");
    optionalFields = [];
    for (const f of asArray(fields.Field as XmlNode | XmlNode[] | undefined)) {
      if (typeof f !== "string" || !isOptionalField(f)) throw schemaError(`unknown optional field ${typeof f === "string" ? f : "(element)"}`);
      if (optionalFields.includes(f)) throw new S3Error("InvalidArgument", `The optional field ${f} is listed more than once.`, { ArgumentName: "OptionalFields", ArgumentValue: f });
      optionalFields.push(f);
    }
  }

  const destinationEl = elementOf(doc, "Destination");
  if (!destinationEl) throw schemaError("InventoryConfiguration requires Destination");
  onlyChildren(destinationEl, ["S3BucketDestination"], "Destination");
  const s3dest = elementOf(destinationEl, "S3BucketDestination");
  if (!s3dest) throw schemaError("Destination requires S3BucketDestination");
  const destination = parseDestination(s3dest);

  return {
    id,
    isEnabled: isEnabledText === "true",
    filterPrefix,
    includedObjectVersions,
    optionalFields,
    frequency,
    destination,
  };
}

function parseDestination(el: Element): InventoryDestination {
  onlyChildren(el, ["AccountId", "Bucket", "Format", "Prefix", "Encryption"], "S3BucketDestination");
  const bucketArn = requiredText(el, "Bucket", "S3BucketDestination");
  const format = oneOf(requiredText(el, "Format", "S3BucketDestination"), InventoryFormats, "Format");
  const m = BUCKET_ARN.exec(bucketArn);
  if (!m || !isValidBucketName(m[2]!)) throw new S3Error("InvalidS3DestinationBucket", undefined, { ArgumentName: "Bucket", ArgumentValue: bucketArn });
  const accountId = textOf(el, "AccountId");
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    throw new S3Error("InvalidArgument", "The destination AccountId must be a 12-digit account id.", { ArgumentName: "AccountId", ArgumentValue: accountId });
  }
  let encryption: InventoryEncryption | undefined;
  const enc = elementOf(el, "Encryption");
  if (enc) {
    onlyChildren(enc, ["SSE-S3", "SSE-KMS"], "Encryption");
    const sses3 = enc["SSE-S3"] !== undefined;
    const ssekms = elementOf(enc, "SSE-KMS");
    if (sses3 && ssekms) throw new S3Error("InvalidArgument", "Specify only one of SSE-S3 and SSE-KMS for inventory encryption.", { ArgumentName: "Encryption" });
    if (sses3) {
      if (elementOf(enc, "SSE-S3") === undefined) throw schemaError("SSE-S3 takes no value");
      if (Object.keys(elementOf(enc, "SSE-S3")!).length > 0) throw schemaError("SSE-S3 takes no children");
      encryption = { kind: "SSE-S3" };
    } else if (ssekms) {
      onlyChildren(ssekms, ["KeyId"], "SSE-KMS");
      const keyId = requiredText(ssekms, "KeyId", "SSE-KMS");
      if (keyId === "") throw new S3Error("InvalidArgument", "SSE-KMS requires a KeyId.", { ArgumentName: "KeyId" });
      encryption = { kind: "SSE-KMS", keyId };
    } else {
      throw schemaError("Encryption requires SSE-S3 or SSE-KMS");
    }
  }
  return { bucketArn, bucketName: m[2]!, accountId, format, prefix: textOf(el, "Prefix"), encryption };
}

/** The element tree of an <InventoryConfiguration>, in the schema's element order. */
export function inventoryConfigurationToXml(c: InventoryConfiguration): Record<string, unknown> {
  const d = c.destination;
  return {
    Destination: {
      S3BucketDestination: {
        AccountId: d.accountId,
        Bucket: d.bucketArn,
        Format: d.format,
        Prefix: d.prefix,
        Encryption: d.encryption
          ? d.encryption.kind === "SSE-S3"
            ? { "SSE-S3": "" }
            : { "SSE-KMS": { KeyId: d.encryption.keyId } }
          : undefined,
      },
    },
    IsEnabled: c.isEnabled,
    Filter: c.filterPrefix !== undefined ? { Prefix: c.filterPrefix } : undefined,
    Id: c.id,
    IncludedObjectVersions: c.includedObjectVersions,
    OptionalFields: c.optionalFields !== undefined ? { Field: c.optionalFields } : undefined,
    Schedule: { Frequency: c.frequency },
  };
}

export function inventoryConfigurationToJson(c: InventoryConfiguration): string {
  return JSON.stringify(c);
}

export function inventoryConfigurationFromJson(json: string): InventoryConfiguration {
  return JSON.parse(json) as InventoryConfiguration;
}
