// The Intelligent-Tiering configuration: the wire document validated into a domain model, the
// model back to the wire shape, and which configurations apply to an object.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_IntelligentTieringConfiguration.html
import { S3Error } from "../errors.js";
import { asArray, elementOf, onlyChildren, requiredText, schemaError, textOf, type XmlNode } from "../xml/codec.js";
import { ARCHIVE_DAYS_RANGE, ArchiveTiers, tagsOf, type ArchiveDays, type ArchiveTier, type TieringFacts } from "./tiers.js";

export const MAX_TIERING_CONFIGURATIONS = 1000;
export const TIERING_CONFIG_KIND = "intelligent-tiering";

export interface TieringTag {
  key: string;
  value: string;
}

/** Filter, Filter/Prefix, Filter/Tag or Filter/And, kept in the shape it was given. */
export type TieringFilter =
  | { kind: "all" }
  | { kind: "prefix"; prefix: string }
  | { kind: "tag"; tag: TieringTag }
  | { kind: "and"; prefix?: string; tags: TieringTag[] };

export interface TieringConfiguration {
  id: string;
  status: "Enabled" | "Disabled";
  /** Undefined when the document had no Filter element. */
  filter?: TieringFilter;
  tierings: { accessTier: ArchiveTier; days: number }[];
}

type Element = Record<string, XmlNode | XmlNode[]>;

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;


function parseTag(node: XmlNode): TieringTag {
  if (typeof node !== "object" || Array.isArray(node)) throw schemaError("Tag requires Key and Value");
  onlyChildren(node, ["Key", "Value"], "Tag");
  const key = requiredText(node, "Key", "Tag");
  const value = requiredText(node, "Value", "Tag");
  if (key.length < 1 || key.length > 128) throw new S3Error("InvalidTag", "The TagKey you have provided is invalid");
  if (value.length > 256) throw new S3Error("InvalidTag", "The TagValue you have provided is invalid");
  return { key, value };
}

function parseFilter(el: Element): TieringFilter {
  onlyChildren(el, ["Prefix", "Tag", "And"], "Filter");
  const present = ["Prefix", "Tag", "And"].filter((n) => el[n] !== undefined);
  if (present.length > 1) throw schemaError("Filter takes one of Prefix, Tag or And");
  if (el.Prefix !== undefined) return { kind: "prefix", prefix: textOf(el, "Prefix")! };
  if (el.Tag !== undefined) {
    if (Array.isArray(el.Tag)) throw schemaError("more than one Tag needs And");
    return { kind: "tag", tag: parseTag(el.Tag) };
  }
  const and = elementOf(el, "And");
  if (and === undefined) return { kind: "all" };
  onlyChildren(and, ["Prefix", "Tag"], "And");
  const tags = asArray(and.Tag).map(parseTag);
  const keys = new Set(tags.map((t) => t.key));
  if (keys.size !== tags.length) throw new S3Error("InvalidArgument", "Duplicate Tag Keys are not allowed.", { ArgumentName: "Tag" });
  const prefix = textOf(and, "Prefix");
  if (prefix === undefined && tags.length === 0) throw schemaError("And requires a Prefix or a Tag");
  return { kind: "and", prefix, tags };
}

function parseTiering(node: XmlNode): { accessTier: ArchiveTier; days: number } {
  if (typeof node !== "object" || Array.isArray(node)) throw schemaError("Tiering requires AccessTier and Days");
  onlyChildren(node, ["AccessTier", "Days"], "Tiering");
  const tier = requiredText(node, "AccessTier", "Tiering");
  if (!(ArchiveTiers as readonly string[]).includes(tier)) throw schemaError(`AccessTier must be one of ${ArchiveTiers.join(", ")}`);
  const accessTier = tier as ArchiveTier;
  const rawDays = requiredText(node, "Days", "Tiering");
  if (!/^-?\d{1,10}$/.test(rawDays.trim())) throw schemaError("Days must be an integer");
  const days = Number(rawDays.trim());
  const [min, max] = ARCHIVE_DAYS_RANGE[accessTier];
  if (days < min || days > max) {
    throw new S3Error("InvalidArgument", `The Days for the ${accessTier} tier must be at least ${min} and at most ${max}.`, {
      ArgumentName: "Days",
      ArgumentValue: rawDays,
    });
  }
  return { accessTier, days };
}

/** Validates the children of an <IntelligentTieringConfiguration> element into the domain model. */
export function parseTieringConfiguration(doc: Element): TieringConfiguration {
  onlyChildren(doc, ["Id", "Filter", "Status", "Tiering"], "IntelligentTieringConfiguration");
  const id = requiredText(doc, "Id", "IntelligentTieringConfiguration");
  if (!ID_PATTERN.test(id)) throw schemaError("Id must be 1 to 64 characters from A-Z a-z 0-9 . _ -");
  const status = requiredText(doc, "Status", "IntelligentTieringConfiguration");
  if (status !== "Enabled" && status !== "Disabled") throw schemaError("Status must be Enabled or Disabled");
  const filterEl = elementOf(doc, "Filter");
  const tierings = asArray(doc.Tiering).map(parseTiering);
  if (tierings.length === 0) throw schemaError("IntelligentTieringConfiguration requires at least one Tiering");
  if (new Set(tierings.map((t) => t.accessTier)).size !== tierings.length) {
    throw new S3Error("InvalidArgument", "Each AccessTier may appear in one Tiering only.", { ArgumentName: "Tiering" });
  }
  return { id, status, filter: filterEl === undefined ? undefined : parseFilter(filterEl), tierings };
}

const tagXml = (t: TieringTag) => ({ Key: t.key, Value: t.value });

function filterToXml(f: TieringFilter): Record<string, unknown> {
  switch (f.kind) {
    case "all":
      return {};
    case "prefix":
      return { Prefix: f.prefix };
    case "tag":
      return { Tag: tagXml(f.tag) };
    case "and":
      return { And: { Prefix: f.prefix, Tag: f.tags.map(tagXml) } };
  }
}

/** The wire shape, in the element order of S3's documentation. */
export function tieringConfigurationToXml(c: TieringConfiguration): Record<string, unknown> {
  return {
    Id: c.id,
    Filter: c.filter === undefined ? undefined : filterToXml(c.filter),
    Status: c.status,
    Tiering: c.tierings.map((t) => ({ Days: t.days, AccessTier: t.accessTier })),
  };
}

export function tieringConfigurationFromJson(json: string): TieringConfiguration {
  return JSON.parse(json) as TieringConfiguration;
}

function filterMatches(f: TieringFilter | undefined, facts: TieringFacts): boolean {
  if (f === undefined || f.kind === "all") return true;
  if (f.kind === "prefix") return facts.key.startsWith(f.prefix);
  const tags = tagsOf(facts);
  if (f.kind === "tag") return tags.get(f.tag.key) === f.tag.value;
  return (f.prefix === undefined || facts.key.startsWith(f.prefix)) && f.tags.every((t) => tags.get(t.key) === t.value);
}

/**
 * The opt-in archive tiers the bucket's enabled configurations give this object: for each tier,
 * the fewest days any matching configuration asks for.
 */
export function archiveDaysFor(configs: readonly TieringConfiguration[], facts: TieringFacts): ArchiveDays {
  const out: ArchiveDays = {};
  for (const c of configs) {
    if (c.status !== "Enabled" || !filterMatches(c.filter, facts)) continue;
    for (const t of c.tierings) out[t.accessTier] = Math.min(out[t.accessTier] ?? Infinity, t.days);
  }
  return out;
}
