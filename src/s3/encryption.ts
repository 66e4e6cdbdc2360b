// Server-side encryption at the S3 edge: the bucket default (PutBucketEncryption,
// GetBucketEncryption, DeleteBucketEncryption), and the encryption a write gets from its
// x-amz-server-side-encryption* / SSE-C headers or the bucket's default, and the key a read needs.
// The on-disk format is src/crypto/sse.ts; the key service src/crypto/kms.ts; docs/encryption.md.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html
import { createHash } from "node:crypto";
import { S3Error } from "../errors.js";
import { asArray, elementOf, parseXml, readBody, textOf, type XmlNode } from "../xml/codec.js";
import type { Handler, S3Request, ServerContext } from "./types.js";
import type { BucketRecord } from "../storage/types.js";
import type { KekResolver, Wrapping } from "../crypto/sse.js";
import { KmsKeyNotFound, keyIdOfArn, type KmsKey } from "../crypto/kms.js";
import type { StoredEncryption } from "../storage/types.js";
import {
  bucketEncryption,
  ENCRYPTION_CONFIG_KIND,
  SseAlgorithms,
  type BucketEncryption,
  type SseAlgorithm,
  type WriteEncryption,
} from "../core/encryption.js";

type Headers = S3Request["headers"];

/** Header prefixes of a customer key: for the object written or read, and for a copy's source. */
export const CUSTOMER = "x-amz-server-side-encryption-customer-";
export const COPY_SOURCE_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-";

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseConfiguration(body: Buffer): BucketEncryption {
  const doc = parseXml(body, "ServerSideEncryptionConfiguration");
  const rules = asArray(doc.Rule as XmlNode | XmlNode[] | undefined);
  if (rules.length !== 1 || typeof rules[0] !== "object") throw new S3Error("MalformedXML");
  const rule = rules[0] as Record<string, XmlNode | XmlNode[]>;
  const byDefault = elementOf(rule, "ApplyServerSideEncryptionByDefault");
  if (!byDefault) throw new S3Error("MalformedXML");
  const algorithm = textOf(byDefault, "SSEAlgorithm")?.trim();
  if (!SseAlgorithms.includes(algorithm as SseAlgorithm)) throw new S3Error("MalformedXML");
  const kmsMasterKeyId = textOf(byDefault, "KMSMasterKeyID")?.trim();
  if (kmsMasterKeyId !== undefined && algorithm === "AES256") {
    throw new S3Error("InvalidArgument", "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse", {
      ArgumentName: "ApplyServerSideEncryptionByDefault",
    });
  }
  const bucketKey = textOf(rule, "BucketKeyEnabled")?.trim();
  if (bucketKey !== undefined && bucketKey !== "true" && bucketKey !== "false") throw new S3Error("MalformedXML");
  return { algorithm: algorithm as SseAlgorithm, kmsMasterKeyId: kmsMasterKeyId || undefined, bucketKeyEnabled: bucketKey === "true" };
}

export const putBucketEncryption: Handler = async (req, ctx) => {
  const config = parseConfiguration(await readBody(req.body, 64 * 1024));
  await ctx.settings.put(req.bucketRecord!, ENCRYPTION_CONFIG_KIND, config);
  return {};
};

export const getBucketEncryption: Handler = async (req, ctx) => {
  const config = await bucketEncryption(ctx, req.bucketRecord!.name);
  if (!config) throw new S3Error("ServerSideEncryptionConfigurationNotFoundError", undefined, { BucketName: req.bucketRecord!.name });
  return {
    xml: {
      root: "ServerSideEncryptionConfiguration",
      value: {
        Rule: {
          ApplyServerSideEncryptionByDefault: { SSEAlgorithm: config.algorithm, KMSMasterKeyID: config.kmsMasterKeyId },
          BucketKeyEnabled: config.bucketKeyEnabled,
        },
      },
    },
  };
};

export const deleteBucketEncryption: Handler = async (req, ctx) => {
  await ctx.settings.delete(req.bucketRecord!, ENCRYPTION_CONFIG_KIND);
  return { status: 204 };
};

export interface CustomerKey {
  key: Buffer;
  /** Base64 MD5 of the key, as the client sends it and S3 echoes it. */
  md5: string;
}

/** The SSE-C key a request carries under `prefix`, checked as S3 checks it, or undefined. */
export function customerKey(headers: Headers, prefix: string): CustomerKey | undefined {
  const algorithm = header(headers, prefix + "algorithm");
  const keyText = header(headers, prefix + "key");
  const md5 = header(headers, prefix + "key-md5");
  if (algorithm === undefined && keyText === undefined && md5 === undefined) return undefined;
  const needs = "Requests specifying Server Side Encryption with Customer provided keys must provide";
  if (algorithm === undefined) throw new S3Error("InvalidArgument", `${needs} a valid encryption algorithm.`, { ArgumentName: prefix + "algorithm" });
  if (algorithm !== "AES256") throw new S3Error("InvalidEncryptionAlgorithmError", undefined, { ArgumentName: prefix + "algorithm", ArgumentValue: algorithm });
  if (keyText === undefined) throw new S3Error("InvalidArgument", `${needs} an appropriate secret key.`, { ArgumentName: prefix + "key" });
  const key = Buffer.from(keyText, "base64");
  if (key.length !== 32) throw new S3Error("InvalidArgument", "The secret key was invalid for the specified algorithm.", { ArgumentName: prefix + "key" });
  if (md5 === undefined) throw new S3Error("InvalidArgument", `${needs} the client calculated MD5 of the secret key.`, { ArgumentName: prefix + "key-MD5" });
  const actual = createHash("md5").update(key).digest("base64");
  if (actual !== md5.trim()) {
    throw new S3Error("InvalidArgument", "The calculated MD5 hash of the key did not match the hash that was provided.", { ArgumentName: prefix + "key-MD5" });
  }
  return { key, md5: actual };
}

async function kmsKey(ctx: ServerContext, accountId: string, name: string | undefined): Promise<KmsKey> {
  try {
    return name === undefined || name === "" ? await ctx.keys.awsManagedKey(accountId) : await ctx.keys.resolve(accountId, name);
  } catch (err) {
    if (err instanceof KmsKeyNotFound) throw new S3Error("KMS.NotFoundException", `Invalid keyId ${err.requested}`);
    throw err;
  }
}

/**
 * The encryption of an object (or upload) written by `req` into `bucket`: its SSE-C headers, or
 * its x-amz-server-side-encryption headers, or else the bucket's default (and the server's).
 * Undefined: stored in the clear (only with --default-encryption none and no bucket default).
 */
export async function writeEncryption(req: S3Request, ctx: ServerContext, bucket: BucketRecord): Promise<WriteEncryption | undefined> {
  const h = req.headers;
  const sse = header(h, "x-amz-server-side-encryption");
  const keyName = header(h, "x-amz-server-side-encryption-aws-kms-key-id");
  const bucketKeyHeader = header(h, "x-amz-server-side-encryption-bucket-key-enabled")?.toLowerCase();
  const customer = customerKey(h, CUSTOMER);
  if (customer) {
    if (sse !== undefined) {
      throw new S3Error("InvalidArgument", "Server Side Encryption with Customer provided key is incompatible with the encryption method specified", {
        ArgumentName: "x-amz-server-side-encryption",
        ArgumentValue: sse,
      });
    }
    return { stored: { kind: "SSE-C", customerKeyMd5: customer.md5 }, wrapping: { mode: "SSE-C", kek: customer.key } };
  }
  if (sse !== undefined && !SseAlgorithms.includes(sse as SseAlgorithm)) {
    throw new S3Error("InvalidArgument", "The encryption method specified is not supported", { ArgumentName: "x-amz-server-side-encryption", ArgumentValue: sse });
  }
  if (keyName !== undefined && sse !== "aws:kms" && sse !== "aws:kms:dsse") {
    throw new S3Error("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms", {
      ArgumentName: "x-amz-server-side-encryption",
      ArgumentValue: sse ?? "null",
    });
  }
  const byDefault = await bucketEncryption(ctx, bucket.name);
  let algorithm: SseAlgorithm;
  let key: string | undefined;
  let account: string;
  if (sse !== undefined) {
    algorithm = sse as SseAlgorithm;
    key = keyName;
    account = req.principal.kind === "account" ? req.principal.accountId : bucket.ownerAccountId;
  } else {
    if (!byDefault) return undefined;
    ({ algorithm, kmsMasterKeyId: key } = byDefault);
    account = bucket.ownerAccountId;
  }
  if (algorithm === "AES256") return { stored: { kind: "SSE-S3" }, wrapping: { mode: "SSE-S3", kek: ctx.keys.masterKey } };
  const kms = await kmsKey(ctx, account, key);
  const kind = algorithm === "aws:kms" ? "SSE-KMS" : "DSSE-KMS";
  const bucketKey = bucketKeyHeader !== undefined ? bucketKeyHeader === "true" : (byDefault?.bucketKeyEnabled ?? false);
  return {
    stored: { kind, keyId: kms.arn, ...(bucketKey && kind === "SSE-KMS" ? { bucketKeyEnabled: true } : {}) },
    wrapping: { mode: kind, kek: kms.material, kmsKeyId: kms.keyId },
  };
}

/** The wrapping of further bodies under an encryption already chosen (a multipart upload's parts). */
export async function wrappingOf(ctx: ServerContext, stored: StoredEncryption, customer: CustomerKey | undefined): Promise<Wrapping> {
  switch (stored.kind) {
    case "SSE-S3":
      return { mode: "SSE-S3", kek: ctx.keys.masterKey };
    case "SSE-KMS":
    case "DSSE-KMS": {
      const keyId = keyIdOfArn(stored.keyId);
      return { mode: stored.kind, kek: (await ctx.keys.open(keyId)).material, kmsKeyId: keyId };
    }
    case "SSE-C":
      if (!customer) {
        throw new S3Error(
          "InvalidRequest",
          "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.",
        );
      }
      if (customer.md5 !== stored.customerKeyMd5) {
        throw new S3Error("InvalidRequest", "The provided encryption parameters did not match the ones used originally.");
      }
      return { mode: "SSE-C", kek: customer.key };
  }
}

/**
 * The key-encryption keys that open a stored version's body, checking the SSE-C headers a read
 * must (or must not) carry: undefined for a body stored in the clear.
 */
export async function readKeys(req: S3Request, ctx: ServerContext, extra: Record<string, unknown>, prefix = CUSTOMER): Promise<KekResolver | undefined> {
  const enc = extra.encryption as StoredEncryption | undefined;
  const customer = customerKey(req.headers, prefix);
  if (enc?.kind === "SSE-C") {
    if (!customer) {
      throw new S3Error("InvalidRequest", "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.");
    }
    // Only the key's MD5 is stored: a different key is refused before any byte is read.
    if (customer.md5 !== enc.customerKeyMd5) throw new S3Error("AccessDenied", "The SSE-C key provided does not match the key the object was stored with.");
    return (mode) => {
      if (mode !== "SSE-C") throw new Error("an SSE-C version's body is sealed in another mode");
      return customer.key;
    };
  }
  if (customer) throw new S3Error("InvalidRequest", "The encryption parameters are not applicable to this object.");
  return enc ? ctx.keys.kekFor(enc) : undefined;
}
