// The lifecycle configuration's domain model, its validation from the wire document, and its
// serialisation back for GetBucketLifecycleConfiguration. Stored as JSON through ctx.settings
// (kind "lifecycle"); the wire XML is never kept.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
import { randomUUID } from "node:crypto";
import { S3Error } from "../errors.js";
import { asArray, elementOf, parseXml, textOf, type XmlNode } from "../xml/codec.js";
import { parseTagElement, type Tag } from "../core/tags.js";

export const LIFECYCLE_KIND = "lifecycle";
export const MAX_RULES = 1000;
const MAX_ID_CHARS = 255;

/** Storage classes a Transition may name, in the order objects move down through them. */
export const TRANSITION_CLASSES = ["INTELLIGENT_TIERING", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"] as const;
export type TransitionClass = (typeof TRANSITION_CLASSES)[number];
/** These classes take objects only after 30 days (S3's minimum). */
const THIRTY_DAY_CLASSES: ReadonlySet<string> = new Set(["STANDARD_IA", "ONEZONE_IA"]);

export const MINIMUM_SIZE_MODES = ["all_storage_classes_128K", "varies_by_storage_class"] as const;
export type MinimumSizeMode = (typeof MINIMUM_SIZE_MODES)[number];

/**
 * Which objects a rule applies to. `legacy` is the rule-level <Prefix> of the original API;
 * otherwise a <Filter> holding at most one condition, or several under <And>.
 */
export type LifecycleFilter =
  | { kind: "legacy"; prefix: string }
  | { kind: "filter"; and: boolean; prefix?: string; tags: Tag[]; sizeGreaterThan?: number; sizeLessThan?: number };

export interface LifecycleExpiration {
  days?: number;
  /** Epoch ms of a midnight UTC. */
  date?: number;
  expiredObjectDeleteMarker?: boolean;
}

export interface LifecycleTransition {
  days?: number;
  date?: number;
  storageClass: TransitionClass;
}

export interface NoncurrentExpiration {
  noncurrentDays: number;
  newerNoncurrentVersions?: number;
}

export interface NoncurrentTransition {
  noncurrentDays: number;
  newerNoncurrentVersions?: number;
  storageClass: TransitionClass;
}

export interface LifecycleRule {
  id: string;
  enabled: boolean;
  filter: LifecycleFilter;
  expiration?: LifecycleExpiration;
  transitions: LifecycleTransition[];
  noncurrentExpiration?: NoncurrentExpiration;
  noncurrentTransitions: NoncurrentTransition[];
  abortIncompleteMultipartUploadDays?: number;
}

export interface LifecycleConfiguration {
  rules: LifecycleRule[];
  /** x-amz-transition-default-minimum-object-size: objects below 128 KiB are not transitioned unless "varies_by_storage_class". */
  minimumSizeMode: MinimumSizeMode;
}

type Element = Record<string, XmlNode | XmlNode[]>;

const malformed = () => new S3Error("MalformedXML");
const invalid = (message: string) => new S3Error("InvalidArgument", message);

function onlyChildren(node: Element, allowed: readonly string[]): void {
  for (const name of Object.keys(node)) if (!allowed.includes(name)) throw malformed();
}

/** An xsd:int / xsd:long as S3's schema reads it; anything else is MalformedXML. */
function integer(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^[+-]?\d{1,15}$/.test(t)) throw malformed();
  return Number(t);
}

/** An ISO 8601 timestamp that S3 accepts only at midnight UTC. */
function midnightDate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) throw malformed();
  const ms = Date.parse(/T/.test(t) && !/(Z|[+-]\d{2}:?\d{2})$/.test(t) ? t + "Z" : t);
  if (!Number.isFinite(ms)) throw malformed();
  if (ms % 86_400_000 !== 0) throw invalid("'Date' must be at midnight GMT");
  return ms;
}

function bool(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t !== "true" && t !== "false") throw malformed();
  return t === "true";
}

function storageClass(text: string | undefined): TransitionClass {
  const t = text?.trim();
  if (!(TRANSITION_CLASSES as readonly string[]).includes(t ?? "")) throw malformed();
  return t as TransitionClass;
}

function sizeBound(text: string | undefined): number | undefined {
  const n = integer(text);
  if (n !== undefined && n < 0) throw invalid("Object size must be a non-negative number");
  return n;
}

function parseConditions(node: Element, inAnd: boolean): Omit<Extract<LifecycleFilter, { kind: "filter" }>, "kind" | "and"> {
  onlyChildren(node, ["Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", ...(inAnd ? [] : ["And"])]);
  const tags = asArray(node.Tag as XmlNode | XmlNode[] | undefined).map(parseTagElement);
  if (!inAnd && tags.length > 1) throw malformed();
  const keys = new Set<string>();
  for (const [key] of tags) {
    if (keys.has(key)) throw invalid("Duplicate Tag Keys are not allowed.");
    keys.add(key);
  }
  const sizeGreaterThan = sizeBound(textOf(node, "ObjectSizeGreaterThan"));
  const sizeLessThan = sizeBound(textOf(node, "ObjectSizeLessThan"));
  if (sizeGreaterThan !== undefined && sizeLessThan !== undefined && sizeGreaterThan >= sizeLessThan) {
    throw invalid("ObjectSizeGreaterThan must be less than ObjectSizeLessThan");
  }
  return { prefix: textOf(node, "Prefix"), tags, sizeGreaterThan, sizeLessThan };
}

function parseFilter(node: Element): LifecycleFilter {
  const conditions = Object.keys(node).reduce((n, name) => n + asArray(node[name]).length, 0);
  if (conditions > 1) throw malformed();
  const and = elementOf(node, "And");
  if (and !== undefined) return { kind: "filter", and: true, ...parseConditions(and, true) };
  return { kind: "filter", and: false, ...parseConditions(node, false) };
}

function hasTagOrSizeCondition(f: LifecycleFilter): boolean {
  return f.kind === "filter" && (f.tags.length > 0 || f.sizeGreaterThan !== undefined || f.sizeLessThan !== undefined);
}

function parseExpiration(node: Element): LifecycleExpiration {
  onlyChildren(node, ["Days", "Date", "ExpiredObjectDeleteMarker"]);
  const days = integer(textOf(node, "Days"));
  const date = midnightDate(textOf(node, "Date"));
  const expiredObjectDeleteMarker = bool(textOf(node, "ExpiredObjectDeleteMarker"));
  const given = [days, date, expiredObjectDeleteMarker].filter((x) => x !== undefined).length;
  if (given !== 1) throw malformed();
  if (days !== undefined && days <= 0) throw invalid("'Days' for Expiration action must be a positive integer");
  return { days, date, expiredObjectDeleteMarker };
}

function parseTransition(node: XmlNode): LifecycleTransition {
  if (typeof node !== "object" || Array.isArray(node)) throw malformed();
  onlyChildren(node, ["Days", "Date", "StorageClass"]);
  const days = integer(textOf(node, "Days"));
  const date = midnightDate(textOf(node, "Date"));
  const cls = storageClass(textOf(node, "StorageClass"));
  if ((days === undefined) === (date === undefined)) throw malformed();
  if (days !== undefined && days < 0) throw invalid("'Days' in Transition action must be nonnegative");
  if (days !== undefined && THIRTY_DAY_CLASSES.has(cls) && days < 30) {
    throw invalid(`'Days' in Transition action must be greater than or equal to 30 for storageClass '${cls}'`);
  }
  return { days, date, storageClass: cls };
}

function newerNoncurrent(node: Element, action: string): number | undefined {
  const n = integer(textOf(node, "NewerNoncurrentVersions"));
  if (n !== undefined && (n <= 0 || n > 100)) throw invalid(`'NewerNoncurrentVersions' for ${action} action must be a positive integer up to 100`);
  return n;
}

function parseNoncurrentExpiration(node: Element): NoncurrentExpiration {
  onlyChildren(node, ["NoncurrentDays", "NewerNoncurrentVersions"]);
  const noncurrentDays = integer(textOf(node, "NoncurrentDays"));
  if (noncurrentDays === undefined) throw malformed();
  if (noncurrentDays <= 0) throw invalid("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer");
  return { noncurrentDays, newerNoncurrentVersions: newerNoncurrent(node, "NoncurrentVersionExpiration") };
}

function parseNoncurrentTransition(node: XmlNode): NoncurrentTransition {
  if (typeof node !== "object" || Array.isArray(node)) throw malformed();
  onlyChildren(node, ["NoncurrentDays", "NewerNoncurrentVersions", "StorageClass"]);
  const noncurrentDays = integer(textOf(node, "NoncurrentDays"));
  const cls = storageClass(textOf(node, "StorageClass"));
  if (noncurrentDays === undefined) throw malformed();
  if (noncurrentDays < 0) throw invalid("'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative");
  if (THIRTY_DAY_CLASSES.has(cls) && noncurrentDays < 30) {
    throw invalid(`'NoncurrentDays' in NoncurrentVersionTransition action must be greater than or equal to 30 for storageClass '${cls}'`);
  }
  return { noncurrentDays, newerNoncurrentVersions: newerNoncurrent(node, "NoncurrentVersionTransition"), storageClass: cls };
}

/** S3 names a rule sent without an ID: an opaque base64 string, unique within the bucket. */
function generatedId(): string {
  return Buffer.from(randomUUID()).toString("base64");
}

function parseRule(node: XmlNode): LifecycleRule {
  if (typeof node !== "object" || Array.isArray(node)) throw malformed();
  onlyChildren(node, [
    "ID",
    "Status",
    "Filter",
    "Prefix",
    "Expiration",
    "Transition",
    "NoncurrentVersionExpiration",
    "NoncurrentVersionTransition",
    "AbortIncompleteMultipartUpload",
  ]);
  const rawId = textOf(node, "ID");
  if (rawId !== undefined && [...rawId].length > MAX_ID_CHARS) throw invalid("ID length should not exceed allowed limit of 255");
  const status = textOf(node, "Status");
  if (status !== "Enabled" && status !== "Disabled") throw malformed();

  const filterNode = elementOf(node, "Filter");
  const legacyPrefix = textOf(node, "Prefix");
  if ((filterNode === undefined) === (legacyPrefix === undefined)) throw malformed();
  const filter: LifecycleFilter = filterNode !== undefined ? parseFilter(filterNode) : { kind: "legacy", prefix: legacyPrefix! };

  const expirationNode = elementOf(node, "Expiration");
  const expiration = expirationNode === undefined ? undefined : parseExpiration(expirationNode);
  const transitions = asArray(node.Transition as XmlNode | XmlNode[] | undefined).map(parseTransition);
  const nceNode = elementOf(node, "NoncurrentVersionExpiration");
  const noncurrentExpiration = nceNode === undefined ? undefined : parseNoncurrentExpiration(nceNode);
  const noncurrentTransitions = asArray(node.NoncurrentVersionTransition as XmlNode | XmlNode[] | undefined).map(parseNoncurrentTransition);
  const abortNode = elementOf(node, "AbortIncompleteMultipartUpload");
  let abortIncompleteMultipartUploadDays: number | undefined;
  if (abortNode !== undefined) {
    onlyChildren(abortNode, ["DaysAfterInitiation"]);
    abortIncompleteMultipartUploadDays = integer(textOf(abortNode, "DaysAfterInitiation"));
    if (abortIncompleteMultipartUploadDays === undefined) throw malformed();
    if (abortIncompleteMultipartUploadDays <= 0) {
      throw invalid("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer");
    }
    if (hasTagOrSizeCondition(filter)) {
      throw new S3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags or object size filters.");
    }
  }
  if (expiration?.expiredObjectDeleteMarker !== undefined && filter.kind === "filter" && filter.tags.length > 0) {
    throw invalid("ExpiredObjectDeleteMarker cannot be specified with Tags.");
  }
  if (!expiration && transitions.length === 0 && !noncurrentExpiration && noncurrentTransitions.length === 0 && abortIncompleteMultipartUploadDays === undefined) {
    throw new S3Error("InvalidRequest", "At least one action needs to be specified in a rule");
  }
  return {
    id: rawId === undefined || rawId === "" ? generatedId() : rawId,
    enabled: status === "Enabled",
    filter,
    expiration,
    transitions,
    noncurrentExpiration,
    noncurrentTransitions,
    abortIncompleteMultipartUploadDays,
  };
}

/** Validates a PutBucketLifecycleConfiguration document into the domain model (or throws S3's error). */
export function parseLifecycleConfiguration(body: Buffer, minimumSizeHeader: string | undefined): LifecycleConfiguration {
  let minimumSizeMode: MinimumSizeMode = "all_storage_classes_128K";
  if (minimumSizeHeader !== undefined) {
    if (!(MINIMUM_SIZE_MODES as readonly string[]).includes(minimumSizeHeader)) {
      throw new S3Error("InvalidArgument", "Invalid value for x-amz-transition-default-minimum-object-size", {
        ArgumentName: "x-amz-transition-default-minimum-object-size",
        ArgumentValue: minimumSizeHeader,
      });
    }
    minimumSizeMode = minimumSizeHeader as MinimumSizeMode;
  }
  const doc = parseXml(body, "LifecycleConfiguration");
  onlyChildren(doc, ["Rule"]);
  const ruleNodes = asArray(doc.Rule as XmlNode | XmlNode[] | undefined);
  if (ruleNodes.length === 0 || ruleNodes.length > MAX_RULES) throw malformed();
  const rules = ruleNodes.map(parseRule);
  const ids = new Set<string>();
  for (const r of rules) {
    if (ids.has(r.id)) throw invalid("Rule ID must be unique. Found same ID for more than one rule");
    ids.add(r.id);
  }
  return { rules, minimumSizeMode };
}

const isoDate = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

function filterXml(f: Extract<LifecycleFilter, { kind: "filter" }>): Record<string, unknown> {
  const tags = f.tags.map(([Key, Value]) => ({ Key, Value }));
  const conditions = {
    Prefix: f.prefix,
    Tag: tags.length === 0 ? undefined : f.and ? tags : tags[0],
    ObjectSizeGreaterThan: f.sizeGreaterThan,
    ObjectSizeLessThan: f.sizeLessThan,
  };
  return f.and ? { And: conditions } : conditions;
}

/** The element tree of GetBucketLifecycleConfiguration's answer. */
export function lifecycleConfigurationXml(config: LifecycleConfiguration): Record<string, unknown> {
  return {
    Rule: config.rules.map((r) => ({
      Expiration: r.expiration && {
        Days: r.expiration.days,
        Date: r.expiration.date === undefined ? undefined : isoDate(r.expiration.date),
        ExpiredObjectDeleteMarker: r.expiration.expiredObjectDeleteMarker,
      },
      ID: r.id,
      Prefix: r.filter.kind === "legacy" ? r.filter.prefix : undefined,
      Filter: r.filter.kind === "filter" ? filterXml(r.filter) : undefined,
      Status: r.enabled ? "Enabled" : "Disabled",
      Transition: r.transitions.map((t) => ({ Days: t.days, Date: t.date === undefined ? undefined : isoDate(t.date), StorageClass: t.storageClass })),
      NoncurrentVersionTransition: r.noncurrentTransitions.map((t) => ({
        NoncurrentDays: t.noncurrentDays,
        StorageClass: t.storageClass,
        NewerNoncurrentVersions: t.newerNoncurrentVersions,
      })),
      NoncurrentVersionExpiration: r.noncurrentExpiration && {
        NoncurrentDays: r.noncurrentExpiration.noncurrentDays,
        NewerNoncurrentVersions: r.noncurrentExpiration.newerNoncurrentVersions,
      },
      AbortIncompleteMultipartUpload:
        r.abortIncompleteMultipartUploadDays === undefined ? undefined : { DaysAfterInitiation: r.abortIncompleteMultipartUploadDays },
    })),
  };
}
