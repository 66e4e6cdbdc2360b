// ListObjects (v1) and ListObjectsV2: keys in UTF-8 byte order, with prefix, delimiter
// (CommonPrefixes), markers and continuation tokens, and encoding-type=url.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
import { compareUtf8 } from "../utf8.js";
import { S3Error } from "../errors.js";
import type { Handler, S3Request, ServerContext } from "./types.js";
import type { ObjectVersionRecord } from "../storage/types.js";
import { storedChecksum } from "./object-headers.js";

const MAX_KEYS = 1000;
/** Larger than any UTF-8 continuation of a prefix: skipping past it skips the whole prefix. */
export const PAST_PREFIX = "\u{10FFFF}";

interface ListPage {
  contents: ObjectVersionRecord[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix returned: where the next page continues. */
  last?: string;
}

/**
 * Walks the bucket's current objects after `after`, folding keys into common prefixes when a
 * delimiter is given, until `maxKeys` entries (keys + prefixes) are gathered.
 */
async function listPage(ctx: ServerContext, bucket: string, prefix: string, delimiter: string, after: string, maxKeys: number): Promise<ListPage> {
  const contents: ObjectVersionRecord[] = [];
  const commonPrefixes: string[] = [];
  let last: string | undefined;
  let cursor = after;
  if (maxKeys === 0) return { contents, commonPrefixes, truncated: false };
  const batch = Math.min(1000, maxKeys + 1);
  for (;;) {
    const rows = await ctx.metadata.listCurrent({ bucket, prefix, after: cursor, limit: batch });
    if (rows.length === 0) return { contents, commonPrefixes, truncated: false, last };
    for (const row of rows) {
      let entry: string = row.key;
      let common: string | undefined;
      if (delimiter !== "") {
        const at = row.key.indexOf(delimiter, prefix.length);
        if (at !== -1) common = row.key.slice(0, at + delimiter.length);
      }
      if (common !== undefined) {
        // A prefix at or before the marker was returned by an earlier page.
        if (commonPrefixes[commonPrefixes.length - 1] === common || compareUtf8(common, after) <= 0) {
          cursor = common + PAST_PREFIX;
          break;
        }
        entry = common;
      }
      if (contents.length + commonPrefixes.length === maxKeys) return { contents, commonPrefixes, truncated: true, last };
      if (common !== undefined) commonPrefixes.push(common);
      else contents.push(row);
      last = entry;
      if (common !== undefined) {
        // Skip the rest of this common prefix with one index seek rather than reading its keys.
        cursor = common + PAST_PREFIX;
        break;
      }
      cursor = row.key;
    }
    if (rows.length < batch && cursor === rows[rows.length - 1]!.key) {
      return { contents, commonPrefixes, truncated: false, last };
    }
  }
}

export function listEncoder(req: S3Request): (s: string) => string {
  const type = req.query.get("encoding-type");
  if (type === null) return (s) => s;
  if (type !== "url") throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request", { ArgumentName: "encoding-type", ArgumentValue: type });
  return (s) => encodeURIComponent(s).replace(/%2F/g, "/").replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

export function maxKeysOf(req: S3Request): number {
  const raw = req.query.get("max-keys");
  if (raw === null) return MAX_KEYS;
  if (!/^\d+$/.test(raw)) throw new S3Error("InvalidArgument", "Provided max-keys not an integer or within integer range", { ArgumentName: "max-keys", ArgumentValue: raw });
  return Math.min(MAX_KEYS, Number(raw));
}

function entryXml(v: ObjectVersionRecord, enc: (s: string) => string, owner: Record<string, string> | undefined) {
  const sum = storedChecksum(v);
  return {
    Key: enc(v.key),
    LastModified: v.lastModified.toISOString(),
    ETag: v.etag,
    ChecksumAlgorithm: sum?.algorithm,
    ChecksumType: sum?.type,
    Size: v.size,
    Owner: owner,
    StorageClass: v.storageClass,
  };
}

/** The Owner element of each account a listing page names, each account looked up once. */
export async function ownerLookup(ctx: ServerContext, accountIds: Iterable<string>): Promise<(accountId: string) => Record<string, string>> {
  const owners = new Map<string, Record<string, string>>();
  for (const accountId of new Set(accountIds)) {
    const account = await ctx.metadata.getAccount(accountId);
    owners.set(accountId, { ID: account?.canonicalId ?? accountId, DisplayName: account?.displayName ?? accountId });
  }
  return (accountId) => owners.get(accountId) ?? { ID: accountId, DisplayName: accountId };
}

export const listObjectsV2: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const enc = listEncoder(req);
  const prefix = req.query.get("prefix") ?? "";
  const delimiter = req.query.get("delimiter") ?? "";
  const maxKeys = maxKeysOf(req);
  const token = req.query.get("continuation-token");
  const startAfter = req.query.get("start-after") ?? "";
  let after = startAfter;
  if (token !== null) {
    const decoded = token === "" ? undefined : decodeToken(token);
    if (decoded === undefined) throw new S3Error("InvalidArgument", "The continuation token provided is incorrect", { ArgumentName: "continuation-token" });
    after = decoded;
  }
  const page = await listPage(ctx, bucket.name, prefix, delimiter, after, maxKeys);
  const fetchOwner = req.query.get("fetch-owner") === "true";
  const owner = await ownerLookup(ctx, fetchOwner ? page.contents.map((v) => v.ownerAccountId) : []);
  return {
    xml: {
      root: "ListBucketResult",
      value: {
        Name: bucket.name,
        Prefix: enc(prefix),
        Delimiter: delimiter === "" ? undefined : enc(delimiter),
        MaxKeys: maxKeys,
        EncodingType: req.query.get("encoding-type") ?? undefined,
        KeyCount: page.contents.length + page.commonPrefixes.length,
        IsTruncated: page.truncated,
        ContinuationToken: token ?? undefined,
        NextContinuationToken: page.truncated && page.last !== undefined ? encodeToken(page.last) : undefined,
        StartAfter: req.query.has("start-after") ? enc(startAfter) : undefined,
        Contents: page.contents.map((v) => entryXml(v, enc, fetchOwner ? owner(v.ownerAccountId) : undefined)),
        CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
      },
    },
  };
};

export const listObjects: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const enc = listEncoder(req);
  const prefix = req.query.get("prefix") ?? "";
  const delimiter = req.query.get("delimiter") ?? "";
  const maxKeys = maxKeysOf(req);
  const marker = req.query.get("marker") ?? "";
  const page = await listPage(ctx, bucket.name, prefix, delimiter, marker, maxKeys);
  const owner = await ownerLookup(ctx, page.contents.map((v) => v.ownerAccountId));
  return {
    xml: {
      root: "ListBucketResult",
      value: {
        Name: bucket.name,
        Prefix: enc(prefix),
        Marker: enc(marker),
        // S3 sends NextMarker only with a delimiter; without one, clients continue from the last key.
        NextMarker: page.truncated && delimiter !== "" && page.last !== undefined ? enc(page.last) : undefined,
        MaxKeys: maxKeys,
        Delimiter: delimiter === "" ? undefined : enc(delimiter),
        EncodingType: req.query.get("encoding-type") ?? undefined,
        IsTruncated: page.truncated,
        Contents: page.contents.map((v) => entryXml(v, enc, owner(v.ownerAccountId))),
        CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
      },
    },
  };
};

function encodeToken(lastKey: string): string {
  return Buffer.from("k1:" + lastKey, "utf8").toString("base64url");
}

function decodeToken(token: string): string | undefined {
  const raw = Buffer.from(token, "base64url").toString("utf8");
  return raw.startsWith("k1:") ? raw.slice(3) : undefined;
}
