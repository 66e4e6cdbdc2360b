// The replication configuration: S3's ReplicationConfiguration document validated into a domain
// model (stored as JSON through ctx.settings), written back for GetBucketReplication, and the
// rule matching the commit hook and the Replicator share.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketReplication.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-add-config.html
import { randomBytes } from "node:crypto";
import { S3Error } from "../errors.js";
import { asArray, elementOf, textOf, type XmlNode } from "../xml/codec.js";
import { StorageClasses } from "../core/storage-classes.js";

type Element = Record<string, XmlNode | XmlNode[]>;

export const REPLICATION_KIND = "replication";
export const MAX_RULES = 1000;
const MAX_ID_LENGTH = 255;
/** S3 Replication Time Control and replication metrics accept only this many minutes. */
const RTC_MINUTES = 15;
const BUCKET_ARN_PREFIX = "arn:aws:s3:::";

export type Switch = "Enabled" | "Disabled";

export interface ReplicationTag {
  key: string;
  value: string;
}

/** A V2 rule's Filter, kept in the shape it was given so GetBucketReplication answers it back. */
export interface RuleFilter {
  prefix?: string;
  tag?: ReplicationTag;
  and?: { prefix?: string; tags: ReplicationTag[] };
}

export interface ReplicationDestination {
  /** The bucket's name (the configuration names it as arn:aws:s3:::name). */
  bucket: string;
  account?: string;
  storageClass?: string;
  /** AccessControlTranslation Owner=Destination: replicas belong to the destination bucket's owner. */
  ownerOverride?: boolean;
  replicaKmsKeyId?: string;
  replicationTime?: { status: Switch; minutes?: number };
  metrics?: { status: Switch; minutes?: number };
}

export interface ReplicationRule {
  id: string;
  /** Required with a Filter (V2); V1 rules have none. Higher wins. */
  priority?: number;
  status: Switch;
  /** V1: Rule/Prefix (and no Filter). A V1 rule given with neither applies to every key. */
  legacyPrefix?: string;
  /** V2: Rule/Filter. Exactly one of legacyPrefix/filter is set, or neither (V1, every key). */
  filter?: RuleFilter;
  deleteMarkerReplication?: Switch;
  existingObjectReplication?: Switch;
  sseKmsEncryptedObjects?: Switch;
  replicaModifications?: Switch;
  destination: ReplicationDestination;
}

export interface ReplicationConfiguration {
  role: string;
  rules: ReplicationRule[];
}

function invalidRequest(message: string): S3Error {
  return new S3Error("InvalidRequest", message);
}

function malformed(): S3Error {
  return new S3Error("MalformedXML");
}

function switchOf(node: Element | undefined, name: string): Switch | undefined {
  if (!node) return undefined;
  const v = textOf(node, name);
  if (v === undefined) return undefined;
  if (v !== "Enabled" && v !== "Disabled") throw malformed();
  return v;
}

/** An element that must hold a Status (DeleteMarkerReplication, SseKmsEncryptedObjects...). */
function statusElement(parent: Element, name: string): Switch | undefined {
  const el = elementOf(parent, name);
  if (el === undefined) return undefined;
  const status = switchOf(el, "Status");
  if (status === undefined) throw malformed();
  return status;
}

function parseTag(node: XmlNode): ReplicationTag {
  if (typeof node !== "object" || Array.isArray(node)) throw malformed();
  const key = textOf(node, "Key");
  const value = textOf(node, "Value");
  if (key === undefined || key === "" || value === undefined) throw malformed();
  if ([...key].length > 128 || [...value].length > 256) throw new S3Error("InvalidTag", "The TagKey or TagValue you have provided is too long.");
  return { key, value };
}

function parseFilter(node: Element): RuleFilter {
  const prefix = textOf(node, "Prefix");
  const tagNode = node.Tag;
  const and = elementOf(node, "And");
  const given = [prefix !== undefined, tagNode !== undefined, and !== undefined].filter(Boolean).length;
  // A Filter names one Prefix, one Tag or one And (an empty Filter applies to every key).
  if (given > 1 || Array.isArray(tagNode)) throw malformed();
  if (tagNode !== undefined) return { tag: parseTag(tagNode) };
  if (and !== undefined) {
    const tags = asArray(and.Tag as XmlNode | XmlNode[] | undefined).map(parseTag);
    const keys = new Set(tags.map((t) => t.key));
    if (keys.size !== tags.length) throw invalidRequest("Duplicate Tag Keys are not allowed.");
    return { and: { prefix: textOf(and, "Prefix"), tags } };
  }
  return prefix === undefined ? {} : { prefix };
}

function filterHasTags(filter: RuleFilter | undefined): boolean {
  return filter?.tag !== undefined || (filter?.and?.tags.length ?? 0) > 0;
}

function parseMinutesSwitch(parent: Element, name: string, inner: string): { status: Switch; minutes?: number } | undefined {
  const el = elementOf(parent, name);
  if (el === undefined) return undefined;
  const status = switchOf(el, "Status");
  if (status === undefined) throw malformed();
  const holder = elementOf(el, inner);
  const raw = holder ? textOf(holder, "Minutes") : undefined;
  if (raw !== undefined && !/^\d{1,9}$/.test(raw)) throw malformed();
  const minutes = raw === undefined ? undefined : Number(raw);
  if (status === "Enabled" && minutes !== RTC_MINUTES) {
    throw new S3Error("InvalidArgument", `${name} ${inner} Minutes must be ${RTC_MINUTES}`, { ArgumentName: inner });
  }
  return { status, minutes };
}

function parseDestination(rule: Element): ReplicationDestination {
  const el = elementOf(rule, "Destination");
  if (!el) throw malformed();
  const arn = textOf(el, "Bucket");
  if (arn === undefined) throw malformed();
  const bucket = arn.startsWith(BUCKET_ARN_PREFIX) ? arn.slice(BUCKET_ARN_PREFIX.length) : "";
  if (bucket === "" || bucket.includes("/") || bucket.includes(":")) {
    throw new S3Error("InvalidArgument", "Invalid bucket ARN.", { ArgumentName: "Bucket", ArgumentValue: arn });
  }
  const account = textOf(el, "Account");
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw new S3Error("InvalidArgument", "Invalid account id.", { ArgumentName: "Account", ArgumentValue: account });
  }
  const storageClass = textOf(el, "StorageClass");
  if (storageClass !== undefined && !(StorageClasses as readonly string[]).includes(storageClass)) throw new S3Error("InvalidStorageClass");
  const translation = elementOf(el, "AccessControlTranslation");
  let ownerOverride: boolean | undefined;
  if (translation !== undefined) {
    if (textOf(translation, "Owner") !== "Destination") throw malformed();
    if (account === undefined) throw invalidRequest("Account must be specified when AccessControlTranslation is specified.");
    ownerOverride = true;
  }
  const encryption = elementOf(el, "EncryptionConfiguration");
  const replicaKmsKeyId = encryption ? textOf(encryption, "ReplicaKmsKeyID") : undefined;
  const replicationTime = parseMinutesSwitch(el, "ReplicationTime", "Time");
  const metrics = parseMinutesSwitch(el, "Metrics", "EventThreshold");
  if (replicationTime?.status === "Enabled" && metrics?.status !== "Enabled") {
    throw invalidRequest("Replication Time Control must be used in conjunction with Metrics.");
  }
  return { bucket, account, storageClass, ownerOverride, replicaKmsKeyId: replicaKmsKeyId || undefined, replicationTime, metrics };
}

function parseRule(node: XmlNode): ReplicationRule {
  if (typeof node !== "object" || Array.isArray(node)) throw malformed();
  const givenId = textOf(node, "ID");
  if (givenId !== undefined && givenId.length > MAX_ID_LENGTH) {
    throw new S3Error("InvalidArgument", `ID length should not exceed allowed limit of ${MAX_ID_LENGTH}`, { ArgumentName: "ID" });
  }
  const status = switchOf(node, "Status");
  if (status === undefined) throw malformed();
  const priorityText = textOf(node, "Priority");
  if (priorityText !== undefined && !/^\d{1,9}$/.test(priorityText.trim())) {
    throw new S3Error("InvalidArgument", "Priority must be zero or a positive integer", { ArgumentName: "Priority", ArgumentValue: priorityText });
  }
  const legacyPrefix = textOf(node, "Prefix");
  const filterNode = elementOf(node, "Filter");
  if (legacyPrefix !== undefined && filterNode !== undefined) throw malformed();
  const filter = filterNode === undefined ? undefined : parseFilter(filterNode);
  const deleteMarkerReplication = statusElement(node, "DeleteMarkerReplication");
  // A V2 rule (with a Filter) must say its priority and whether delete markers are replicated.
  if (filter !== undefined && (priorityText === undefined || deleteMarkerReplication === undefined)) throw malformed();
  if (filterHasTags(filter) && deleteMarkerReplication === "Enabled") {
    throw invalidRequest("Delete marker replication is not supported if any Tag filter is specified. Please refer to S3 Developer Guide for more information.");
  }
  const criteria = elementOf(node, "SourceSelectionCriteria");
  const sseKmsEncryptedObjects = criteria ? statusElement(criteria, "SseKmsEncryptedObjects") : undefined;
  const replicaModifications = criteria ? statusElement(criteria, "ReplicaModifications") : undefined;
  const destination = parseDestination(node);
  if (sseKmsEncryptedObjects === "Enabled" && destination.replicaKmsKeyId === undefined) {
    throw invalidRequest("ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present.");
  }
  return {
    // S3 names a rule given without an ID.
    id: givenId || randomBytes(36).toString("base64url"),
    priority: priorityText === undefined ? undefined : Number(priorityText.trim()),
    status,
    legacyPrefix,
    filter,
    deleteMarkerReplication,
    existingObjectReplication: statusElement(node, "ExistingObjectReplication"),
    sseKmsEncryptedObjects,
    replicaModifications,
    destination,
  };
}

/**
 * Validates a ReplicationConfiguration document's content (what it names in the store — the
 * buckets and their versioning — is checked by the handler).
 */
export function parseReplicationConfiguration(doc: Element): ReplicationConfiguration {
  const role = textOf(doc, "Role");
  if (role === undefined || role.trim() === "") throw malformed();
  const ruleNodes = asArray(doc.Rule as XmlNode | XmlNode[] | undefined);
  if (ruleNodes.length === 0) throw malformed();
  if (ruleNodes.length > MAX_RULES) throw invalidRequest(`Number of rules in the replication configuration exceeds the allowed limit of ${MAX_RULES}.`);
  const rules = ruleNodes.map(parseRule);
  // Rules are all V1 (Prefix or nothing) or all V2 (Filter).
  const v2 = rules.filter((r) => r.filter !== undefined).length;
  if (v2 !== 0 && v2 !== rules.length) throw malformed();
  const ids = new Set<string>();
  const priorities = new Set<number>();
  for (const rule of rules) {
    if (ids.has(rule.id)) throw new S3Error("InvalidArgument", "Rule Id must be unique.", { ArgumentName: "ID", ArgumentValue: rule.id });
    ids.add(rule.id);
    if (rule.priority !== undefined) {
      if (priorities.has(rule.priority)) throw invalidRequest("Found duplicate priority. Rule priorities must be unique.");
      priorities.add(rule.priority);
    }
  }
  return { role, rules };
}

function tagXml(t: ReplicationTag) {
  return { Key: t.key, Value: t.value };
}

function switchXml(status: Switch | undefined) {
  return status === undefined ? undefined : { Status: status };
}

function minutesXml(s: { status: Switch; minutes?: number } | undefined, inner: string) {
  if (!s) return undefined;
  return { Status: s.status, [inner]: s.minutes === undefined ? undefined : { Minutes: s.minutes } };
}

/** The configuration as GetBucketReplication answers it, elements in the API reference's order. */
export function replicationConfigurationToXml(config: ReplicationConfiguration): Record<string, unknown> {
  return {
    Role: config.role,
    Rule: config.rules.map((r) => {
      const f = r.filter;
      const d = r.destination;
      const criteria =
        r.sseKmsEncryptedObjects !== undefined || r.replicaModifications !== undefined
          ? { SseKmsEncryptedObjects: switchXml(r.sseKmsEncryptedObjects), ReplicaModifications: switchXml(r.replicaModifications) }
          : undefined;
      return {
        ID: r.id,
        Priority: r.priority,
        Prefix: r.legacyPrefix,
        Filter: f && {
          Prefix: f.prefix,
          Tag: f.tag && tagXml(f.tag),
          And: f.and && { Prefix: f.and.prefix, Tag: f.and.tags.map(tagXml) },
        },
        Status: r.status,
        SourceSelectionCriteria: criteria,
        ExistingObjectReplication: switchXml(r.existingObjectReplication),
        Destination: {
          Bucket: BUCKET_ARN_PREFIX + d.bucket,
          Account: d.account,
          StorageClass: d.storageClass,
          AccessControlTranslation: d.ownerOverride ? { Owner: "Destination" } : undefined,
          EncryptionConfiguration: d.replicaKmsKeyId === undefined ? undefined : { ReplicaKmsKeyID: d.replicaKmsKeyId },
          ReplicationTime: minutesXml(d.replicationTime, "Time"),
          Metrics: minutesXml(d.metrics, "EventThreshold"),
        },
        DeleteMarkerReplication: switchXml(r.deleteMarkerReplication),
      };
    }),
  };
}

/** What a rule's filter looks at: the key, and the object's tags (none for a delete marker). */
export interface ReplicationCandidate {
  key: string;
  tags: Record<string, string>;
  isDeleteMarker: boolean;
}

function filterMatches(rule: ReplicationRule, c: ReplicationCandidate): boolean {
  if (rule.filter === undefined) return c.key.startsWith(rule.legacyPrefix ?? "");
  const f = rule.filter;
  const prefix = f.prefix ?? f.and?.prefix ?? "";
  const tags = f.tag ? [f.tag] : (f.and?.tags ?? []);
  return c.key.startsWith(prefix) && tags.every((t) => c.tags[t.key] === t.value);
}

/** Whether a rule replicates delete markers: V1 rules always do; V2 rules when they say so. */
export function replicatesDeleteMarkers(rule: ReplicationRule): boolean {
  return rule.filter === undefined || rule.deleteMarkerReplication === "Enabled";
}

/**
 * The rule that decides, for each destination bucket, whether and how a version is replicated:
 * among the enabled rules whose filter matches, the one with the highest priority (V1 rules,
 * which have none, in document order). Delete markers go only where that rule replicates them.
 */
export function rulesFor(config: ReplicationConfiguration, c: ReplicationCandidate): ReplicationRule[] {
  const winners = new Map<string, ReplicationRule>();
  for (const rule of config.rules) {
    if (rule.status !== "Enabled" || !filterMatches(rule, c)) continue;
    const current = winners.get(rule.destination.bucket);
    if (current === undefined || (rule.priority ?? -1) > (current.priority ?? -1)) winners.set(rule.destination.bucket, rule);
  }
  const rules = [...winners.values()];
  return c.isDeleteMarker ? rules.filter(replicatesDeleteMarkers) : rules;
}
