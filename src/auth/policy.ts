// Bucket policies: the JSON document validated into a compiled model (MalformedPolicy with a
// message that says what is wrong), and its evaluation for one request, as S3 evaluates it:
// an explicit Deny wins, then any Allow, else the policy does not apply.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { S3Error } from "../errors.js";

export const MAX_POLICY_BYTES = 20 * 1024;

type Values = string[];

export type PolicyPrincipal =
  | { kind: "any" }
  | { kind: "set"; accounts: Set<string>; services: Set<string>; canonicalIds: Set<string>; anyAws: boolean };

export interface Condition {
  /** The operator without IfExists / ForAnyValue / ForAllValues. */
  operator: string;
  ifExists: boolean;
  setOperator?: "ForAnyValue" | "ForAllValues";
  key: string;
  values: Values;
  /**
   * Pre-built for IpAddress / NotIpAddress, one list per family: node's BlockList matches an IPv4
   * address against IPv4-mapped IPv6 subnets too (::/32 holds 8.8.8.8), where aws:SourceIp ranges of
   * one family never match an address of the other.
   */
  blocks?: { ipv4: BlockList; ipv6: BlockList };
  /** Pre-compiled for the Like operators. */
  patterns?: Wildcard[];
}

export interface Statement {
  sid?: string;
  effect: "Allow" | "Deny";
  principal?: PolicyPrincipal;
  notPrincipal?: PolicyPrincipal;
  actions?: Wildcard[];
  notActions?: Wildcard[];
  resources?: Wildcard[];
  notResources?: Wildcard[];
  conditions: Condition[];
}

export interface CompiledPolicy {
  statements: Statement[];
  /**
   * Every condition key the statements name. Some keys cost work to supply (an object's tags are a
   * metadata read, a request's tags may be in its body), so a request supplies them only when named.
   */
  conditionKeys: ReadonlySet<string>;
}

/** The request facts a policy is evaluated against. Values of multi-valued keys are arrays. */
export interface PolicyRequest {
  principal:
    | { kind: "anonymous" }
    | { kind: "account"; accountId: string }
    | { kind: "service"; service: string };
  action: string;
  resource: string;
  context: Record<string, string | string[] | undefined>;
}

export type Decision = "Allow" | "Deny" | "NotApplicable";

const STRING_OPS = ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"];
const ARN_OPS = ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"];
const NUMERIC_OPS = ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"];
const DATE_OPS = ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"];
const OTHER_OPS = ["Bool", "IpAddress", "NotIpAddress", "Null", "BinaryEquals"];
export const CONDITION_OPERATORS = new Set([...STRING_OPS, ...ARN_OPS, ...NUMERIC_OPS, ...DATE_OPS, ...OTHER_OPS]);
const LIKE_OPS = new Set(["StringLike", "StringNotLike", "ArnLike", "ArnNotLike"]);
/** Negated operators hold when the key is absent: there is nothing for the value to equal. */
const NEGATED = new Set(["StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike", "NumericNotEquals", "DateNotEquals", "NotIpAddress"]);

/** Condition keys S3 understands (global aws: keys and the s3: keys), plus tag-key families. */
const CONDITION_KEYS = new Set([
  "aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport", "aws:SourceIp", "aws:SourceAccount", "aws:SourceArn",
  "aws:SourceOwner", "aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalType", "aws:PrincipalOrgID", "aws:PrincipalServiceName",
  "aws:Referer", "aws:UserAgent", "aws:userid", "aws:username", "aws:SourceVpc", "aws:SourceVpce", "aws:ViaAWSService",
  "aws:CalledVia", "aws:MultiFactorAuthPresent", "aws:MultiFactorAuthAge", "aws:RequestedRegion", "aws:TokenIssueTime",
  "s3:prefix", "s3:delimiter", "s3:max-keys", "s3:VersionId", "s3:x-amz-acl", "s3:x-amz-server-side-encryption",
  "s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:x-amz-server-side-encryption-customer-algorithm", "s3:x-amz-storage-class", "s3:x-amz-copy-source", "s3:x-amz-metadata-directive",
  "s3:x-amz-content-sha256", "s3:authType", "s3:signatureversion", "s3:signatureAge", "s3:TlsVersion", "s3:LocationConstraint",
  "s3:object-lock-mode", "s3:object-lock-retain-until-date", "s3:object-lock-remaining-retention-days", "s3:object-lock-legal-hold",
  "s3:ResourceAccount", "s3:AccessPointNetworkOrigin", "s3:DataAccessPointAccount", "s3:DataAccessPointArn", "s3:RequestObjectTagKeys",
  "s3:x-amz-grant-full-control", "s3:x-amz-grant-read", "s3:x-amz-grant-write", "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write-acp",
  "s3:if-match", "s3:if-none-match", "s3:ObjectCreationOperation",
]);
const CONDITION_KEY_FAMILIES = ["s3:ExistingObjectTag/", "s3:RequestObjectTag/", "aws:RequestTag/", "aws:PrincipalTag/", "aws:ResourceTag/"];

function malformed(message: string): S3Error {
  return new S3Error("MalformedPolicy", message);
}

/** A compiled IAM wildcard: test() says whether a whole string matches it. */
export interface Wildcard {
  test(text: string): boolean;
}

/**
 * IAM wildcards: * any run, ? one character; everything else literal. Matched by a two-pointer
 * scan, not a regular expression: a pattern with several stars compiled to `.*` runs backtracks
 * polynomially, and a long key or header could then stall the server for minutes.
 */
export function wildcardPattern(pattern: string, ignoreCase: boolean): Wildcard {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  return { test: (text) => wildcardMatch(p, ignoreCase ? text.toLowerCase() : text) };
}

/** Linear in practice and O(pattern × text) at worst: on a mismatch only the last star advances. */
function wildcardMatch(p: string, s: string): boolean {
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === "?" || (p[pi] !== "*" && p[pi] === s[si]))) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      mark = si;
    } else if (star !== -1) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

function asList(v: unknown, what: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw malformed(`${what} must not be empty`);
  for (const item of list) if (typeof item !== "string") throw malformed(`${what} must be a string or a list of strings`);
  return list as string[];
}

function parsePrincipal(v: unknown): PolicyPrincipal {
  if (v === "*") return { kind: "any" };
  if (!v || typeof v !== "object" || Array.isArray(v)) throw malformed("Invalid principal in policy");
  const p: PolicyPrincipal = { kind: "set", accounts: new Set(), services: new Set(), canonicalIds: new Set(), anyAws: false };
  for (const [type, raw] of Object.entries(v as Record<string, unknown>)) {
    const list = asList(raw, `Principal ${type}`);
    if (type === "AWS") {
      for (const id of list) {
        if (id === "*") {
          p.anyAws = true;
          continue;
        }
        const m = /^(\d{12})$/.exec(id) ?? /^arn:aws:iam::(\d{12}):root$/.exec(id);
        if (!m) throw malformed(`Invalid principal in policy: ${id} (an account id or arn:aws:iam::<account>:root)`);
        p.accounts.add(m[1]!);
      }
    } else if (type === "Service") {
      for (const s of list) {
        if (!/^[a-z0-9.-]+\.amazonaws\.com$/.test(s)) throw malformed(`Invalid principal in policy: service ${s}`);
        p.services.add(s);
      }
    } else if (type === "CanonicalUser") {
      for (const c of list) p.canonicalIds.add(c);
    } else {
      throw malformed(`Invalid principal in policy: unknown principal type ${type}`);
    }
  }
  return p;
}

function parseActions(v: unknown, knownActions: ReadonlySet<string>): Wildcard[] {
  return asList(v, "Action").map((a) => {
    if (a === "*") return /^.*$/s;
    if (!/^s3:[A-Za-z*?]+$/i.test(a)) throw malformed(`Policy has invalid action: ${a}`);
    const re = wildcardPattern(a, true);
    if (!a.includes("*") && !a.includes("?") && ![...knownActions].some((k) => re.test(k))) throw malformed(`Policy has invalid action: ${a}`);
    return re;
  });
}

function parseResources(v: unknown, bucket: string): Wildcard[] {
  return asList(v, "Resource").map((r) => {
    const re = wildcardPattern(r, false);
    const bucketArn = `arn:aws:s3:::${bucket}`;
    // A resource must be able to name this bucket or objects in it.
    const applies = r === "*" || re.test(bucketArn) || wildcardPattern(r.replace(/\/.*$/, ""), false).test(bucketArn);
    if (!r.startsWith("arn:aws:s3:::") && r !== "*") throw malformed(`Policy has invalid resource: ${r}`);
    if (!applies) throw malformed(`Policy has invalid resource: ${r} does not name bucket ${bucket} or its objects`);
    return re;
  });
}

function parseConditions(v: unknown): Condition[] {
  if (v === undefined) return [];
  if (!v || typeof v !== "object" || Array.isArray(v)) throw malformed("Condition must be an object");
  const out: Condition[] = [];
  for (const [rawOp, block] of Object.entries(v as Record<string, unknown>)) {
    let op = rawOp;
    let setOperator: Condition["setOperator"];
    const colon = op.indexOf(":");
    if (colon !== -1) {
      const prefix = op.slice(0, colon);
      if (prefix !== "ForAnyValue" && prefix !== "ForAllValues") throw malformed(`Invalid Condition type: ${rawOp}`);
      setOperator = prefix;
      op = op.slice(colon + 1);
    }
    const ifExists = op.endsWith("IfExists") && op !== "IfExists";
    if (ifExists) op = op.slice(0, -"IfExists".length);
    if (!CONDITION_OPERATORS.has(op)) throw malformed(`Invalid Condition type: ${rawOp}`);
    if (!block || typeof block !== "object" || Array.isArray(block)) throw malformed(`Condition ${rawOp} must map keys to values`);
    for (const [key, raw] of Object.entries(block as Record<string, unknown>)) {
      if (!CONDITION_KEYS.has(key) && !CONDITION_KEY_FAMILIES.some((f) => key.startsWith(f) && key.length > f.length)) {
        throw malformed(`Policy has an invalid condition key: ${key}`);
      }
      const list = (Array.isArray(raw) ? raw : [raw]).map((x) => (typeof x === "boolean" || typeof x === "number" ? String(x) : x));
      if (list.length === 0 || list.some((x) => typeof x !== "string")) throw malformed(`Condition ${rawOp} ${key} needs string values`);
      const values = list as string[];
      const cond: Condition = { operator: op, ifExists, setOperator, key, values };
      if (op === "IpAddress" || op === "NotIpAddress") cond.blocks = ipBlocks(values);
      if (LIKE_OPS.has(op)) cond.patterns = values.map((x) => wildcardPattern(x, false));
      if (NUMERIC_OPS.includes(op) && values.some((x) => !Number.isFinite(Number(x)))) throw malformed(`Condition ${rawOp} ${key} needs numbers`);
      if (DATE_OPS.includes(op) && values.some((x) => Number.isNaN(parseDate(x)))) throw malformed(`Condition ${rawOp} ${key} needs dates`);
      if (op === "Bool" || op === "Null") {
        if (values.some((x) => x !== "true" && x !== "false")) throw malformed(`Condition ${rawOp} ${key} needs true or false`);
      }
      out.push(cond);
    }
  }
  return out;
}

function ipBlocks(values: string[]): { ipv4: BlockList; ipv6: BlockList } {
  const blocks = { ipv4: new BlockList(), ipv6: new BlockList() };
  for (const cidr of values) {
    const [addr, bits] = cidr.split("/");
    const family = isIPv4(addr ?? "") ? "ipv4" : isIPv6(addr ?? "") ? "ipv6" : undefined;
    if (!family) throw malformed(`Condition IpAddress needs CIDR values: ${cidr}`);
    const prefix = bits === undefined ? (family === "ipv4" ? 32 : 128) : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === "ipv4" ? 32 : 128)) throw malformed(`Condition IpAddress needs CIDR values: ${cidr}`);
    blocks[family].addSubnet(addr!, prefix, family);
  }
  return blocks;
}

function parseDate(v: string): number {
  return /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
}

/** Validates a bucket policy for `bucket`; every action must be one of `knownActions` (or a wildcard). */
export function compilePolicy(text: string, bucket: string, knownActions: ReadonlySet<string>): CompiledPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw malformed(`Policies must not exceed ${MAX_POLICY_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw malformed("Policies must be valid JSON and the first byte must be '{'");
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!["Version", "Id", "Statement"].includes(k)) throw malformed(`Unknown field ${k}`);
  if (d.Version !== undefined && d.Version !== "2012-10-17" && d.Version !== "2008-10-17") throw malformed(`Invalid policy version: ${String(d.Version)}`);
  if (d.Statement === undefined) throw malformed("Missing required field Statement");
  const rawStatements = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  if (rawStatements.length === 0) throw malformed("Missing required field Statement");
  const statements = rawStatements.map((raw, i): Statement => {
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw malformed(`Statement ${i} must be an object`);
    const s = raw as Record<string, unknown>;
    for (const k of Object.keys(s)) {
      if (!["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"].includes(k)) {
        throw malformed(`Unknown field ${k}`);
      }
    }
    if (s.Effect !== "Allow" && s.Effect !== "Deny") throw malformed(s.Effect === undefined ? "Missing required field Effect" : `Invalid effect: ${String(s.Effect)}`);
    const one = (a: string, b: string) => {
      if (s[a] !== undefined && s[b] !== undefined) throw malformed(`Statement ${i} has both ${a} and ${b}`);
      if (s[a] === undefined && s[b] === undefined) throw malformed(`Missing required field ${a}`);
    };
    one("Principal", "NotPrincipal");
    one("Action", "NotAction");
    one("Resource", "NotResource");
    if (s.Sid !== undefined && typeof s.Sid !== "string") throw malformed("Sid must be a string");
    return {
      sid: s.Sid as string | undefined,
      effect: s.Effect,
      principal: s.Principal !== undefined ? parsePrincipal(s.Principal) : undefined,
      notPrincipal: s.NotPrincipal !== undefined ? parsePrincipal(s.NotPrincipal) : undefined,
      actions: s.Action !== undefined ? parseActions(s.Action, knownActions) : undefined,
      notActions: s.NotAction !== undefined ? parseActions(s.NotAction, knownActions) : undefined,
      resources: s.Resource !== undefined ? parseResources(s.Resource, bucket) : undefined,
      notResources: s.NotResource !== undefined ? parseResources(s.NotResource, bucket) : undefined,
      conditions: parseConditions(s.Condition),
    };
  });
  return { statements, conditionKeys: new Set(statements.flatMap((s) => s.conditions.map((c) => c.key))) };
}

/** Whether the policy names a condition key starting with `prefix` (a key, or a family such as "s3:ExistingObjectTag/"). */
export function namesConditionKey(policy: CompiledPolicy, prefix: string): boolean {
  for (const key of policy.conditionKeys) if (key.startsWith(prefix)) return true;
  return false;
}

function principalMatches(p: PolicyPrincipal, who: PolicyRequest["principal"]): boolean {
  if (p.kind === "any") return true;
  if (p.anyAws) return who.kind !== "service";
  if (who.kind === "account") return p.accounts.has(who.accountId);
  if (who.kind === "service") return p.services.has(who.service);
  return false;
}

function compareNumbers(op: string, a: number, b: number): boolean {
  switch (op.replace(/^(Numeric|Date)/, "")) {
    case "Equals":
      return a === b;
    case "NotEquals":
      return a !== b;
    case "LessThan":
      return a < b;
    case "LessThanEquals":
      return a <= b;
    case "GreaterThan":
      return a > b;
    case "GreaterThanEquals":
      return a >= b;
  }
  return false;
}

/** Does one request value satisfy the operator against one policy value? (negation applied later) */
function valueMatches(c: Condition, actual: string, expected: string): boolean {
  const op = c.operator;
  if (op === "StringEquals" || op === "StringNotEquals" || op === "ArnEquals" || op === "ArnNotEquals" || op === "BinaryEquals") return actual === expected;
  if (op === "StringEqualsIgnoreCase" || op === "StringNotEqualsIgnoreCase") return actual.toLowerCase() === expected.toLowerCase();
  if (op.startsWith("Numeric")) return compareNumbers(op.replace("Not", ""), Number(actual), Number(expected));
  if (op.startsWith("Date")) return compareNumbers(op.replace("Not", ""), parseDate(actual), parseDate(expected));
  if (op === "Bool") return actual.toLowerCase() === expected;
  return false;
}

function conditionHolds(c: Condition, context: PolicyRequest["context"]): boolean {
  const raw = context[c.key];
  const present = raw !== undefined && !(Array.isArray(raw) && raw.length === 0);
  if (c.operator === "Null") return c.values.some((v) => (v === "true") === !present);
  if (!present) {
    if (c.ifExists) return true;
    if (c.setOperator === "ForAllValues") return true;
    if (c.setOperator === "ForAnyValue") return false;
    return NEGATED.has(c.operator);
  }
  const actuals = Array.isArray(raw) ? raw : [raw!];
  const negated = NEGATED.has(c.operator);
  const matchOne = (actual: string): boolean => {
    if (c.operator === "IpAddress" || c.operator === "NotIpAddress") {
      const family = isIPv4(actual) ? "ipv4" : isIPv6(actual) ? "ipv6" : undefined;
      return family !== undefined && c.blocks![family].check(actual, family);
    }
    if (c.patterns) return c.patterns.some((re) => re.test(actual));
    return c.values.some((expected) => valueMatches(c, actual, expected));
  };
  if (c.setOperator === "ForAllValues") return actuals.every((a) => matchOne(a) !== negated);
  if (c.setOperator === "ForAnyValue") return actuals.some((a) => matchOne(a) !== negated);
  const any = actuals.some(matchOne);
  return negated ? !any : any;
}

function statementApplies(s: Statement, req: PolicyRequest): boolean {
  if (s.principal && !principalMatches(s.principal, req.principal)) return false;
  if (s.notPrincipal && principalMatches(s.notPrincipal, req.principal)) return false;
  if (s.actions && !s.actions.some((re) => re.test(req.action))) return false;
  if (s.notActions && s.notActions.some((re) => re.test(req.action))) return false;
  if (s.resources && !s.resources.some((re) => re.test(req.resource))) return false;
  if (s.notResources && s.notResources.some((re) => re.test(req.resource))) return false;
  return s.conditions.every((c) => conditionHolds(c, req.context));
}

export function evaluatePolicy(policy: CompiledPolicy, req: PolicyRequest): Decision {
  let allowed = false;
  for (const s of policy.statements) {
    if (!statementApplies(s, req)) continue;
    if (s.effect === "Deny") return "Deny";
    allowed = true;
  }
  return allowed ? "Allow" : "NotApplicable";
}

// ---- Public policies ---------------------------------------------------------------------------
// S3's "The meaning of public" (Block Public Access): a policy is public unless every Allow in it
// is held to fixed values (no wildcard, no policy variable) of a principal, or of one of the
// condition keys below. Broad source ranges count as public: IPv4 CIDRs wider than /8, IPv6
// wider than /32. What the statement allows (actions, resources) does not matter: a public grant
// of any action is public.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html

/** Condition keys that, held to fixed values by a matching operator, keep an Allow from being public. */
const LIMITING_KEYS = new Set([
  "aws:SourceArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceOwner", "aws:SourceAccount",
  "aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalOrgID",
  "s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:DataAccessPointAccount",
]);
/** Operators that admit only the listed values (the negated ones admit everything else). */
const MATCHING_OPS = new Set(["StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"]);

function isFixed(value: string): boolean {
  return !/[*?]/.test(value) && !value.includes("${");
}

/**
 * A source range narrow enough not to be public: at least /8 for IPv4, /32 for IPv6. An IPv6 range
 * never matches an IPv4 client (ranges are matched within their own family, and aws:SourceIp
 * carries an IPv4-mapped peer as plain IPv4), so ::/32 admits no IPv4 client.
 */
function isNarrowRange(cidr: string): boolean {
  const [addr = "", bits] = cidr.split("/");
  const v4 = isIPv4(addr);
  const prefix = bits === undefined ? (v4 ? 32 : 128) : Number(bits);
  return prefix >= (v4 ? 8 : 32);
}

/** Whether this condition alone holds an Allow to fixed values (conditions of a statement all hold). */
function limitsToFixedValues(c: Condition): boolean {
  // A condition that holds when its key is absent (IfExists, ForAllValues) limits nothing: a
  // request without the key (anonymous, for a start) meets it.
  if (c.ifExists || c.setOperator === "ForAllValues") return false;
  if (c.key === "aws:SourceIp") return c.operator === "IpAddress" && c.values.every(isNarrowRange);
  if (!MATCHING_OPS.has(c.operator)) return false;
  // Any session of one role ("AROA...:*") still names that role.
  if (c.key === "aws:userid") return c.values.every((v) => isFixed(v) || /^AROA[A-Z0-9]+:\*$/.test(v));
  // Access points of one fixed account, whatever their names.
  if (c.key === "s3:DataAccessPointArn") {
    return c.values.every((v) => isFixed(v) || (/^arn:[a-z-]+:s3:[a-z0-9*?-]*:\d{12}:accesspoint\//.test(v) && !v.includes("${")));
  }
  return LIMITING_KEYS.has(c.key) && c.values.every(isFixed);
}

/** A Principal naming fixed accounts, services or canonical users only (not "*", not {"AWS": "*"}). */
function hasFixedPrincipal(s: Statement): boolean {
  const p = s.principal;
  return p !== undefined && p.kind === "set" && !p.anyAws && [...p.canonicalIds].every(isFixed);
}

/** Whether one statement grants public access: an Allow neither its principal nor a condition limits to fixed values. */
function isPublicStatement(s: Statement): boolean {
  return s.effect === "Allow" && !hasFixedPrincipal(s) && !s.conditions.some(limitsToFixedValues);
}

/** S3's public policy (GetBucketPolicyStatus, BlockPublicPolicy, RestrictPublicBuckets): any public Allow. */
export function isPublicPolicy(policy: CompiledPolicy): boolean {
  return policy.statements.some(isPublicStatement);
}
