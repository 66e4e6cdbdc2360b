// Access control lists: canned ACLs and x-amz-grant-* headers on writes and CreateBucket,
// Get/PutObjectAcl, Get/PutBucketAcl, PutBucketOwnershipControls (disabling ACLs depends on the
// bucket ACL), the owner a write's version gets, and the grants authorization consults when a
// bucket's ownership setting leaves ACLs enabled; Block Public Access's two ACL settings
// (BlockPublicAcls, IgnorePublicAcls; public-access-block.ts). Model and choices: docs/acl.md.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html
import { S3Error } from "../errors.js";
import { asArray, elementOf, parseXml, readBody, textOf, type XmlNode } from "../xml/codec.js";
import type { Handler, S3Request, ServerContext } from "./types.js";
import type { Principal } from "../auth/principal.js";
import { BucketSettings } from "../core/bucket-settings.js";
import type { BucketConfigRow, BucketRecord, ObjectVersionRecord } from "../storage/types.js";
import { canonicalIdFor } from "../auth/accounts.js";
import { addressedVersion, checkDecidedTags, header, ownerAccount } from "./request.js";
import { aclsEnabled, objectOwnershipOf, OWNERSHIP_KIND, ownershipHeader, parseOwnershipControls, type OwnershipControls } from "./ownership.js";
import { publicAccessBlockOf } from "./public-access-block.js";

export const Permissions = ["FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"] as const;
export type Permission = (typeof Permissions)[number];

export const Groups = {
  AllUsers: "http://acs.amazonaws.com/groups/global/AllUsers",
  AuthenticatedUsers: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
  LogDelivery: "http://acs.amazonaws.com/groups/s3/LogDelivery",
} as const;
const GROUP_URIS: ReadonlySet<string> = new Set(Object.values(Groups));

/** The canonical user Amazon EC2 reads AMI bundles as, which aws-exec-read grants READ. */
export const EC2_CANONICAL_ID = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c";

export const CannedAcls = [
  "private",
  "public-read",
  "public-read-write",
  "authenticated-read",
  "aws-exec-read",
  "bucket-owner-read",
  "bucket-owner-full-control",
  "log-delivery-write",
] as const;
export type CannedAcl = (typeof CannedAcls)[number];

/**
 * A grant as stored: a canonical user id or a predefined group's URI, and the permission. A
 * version's grants live in `extra.acl` and a bucket's under the bucket setting "acl"; both are
 * absent while the ACL is the default (the owner's FULL_CONTROL alone), the common case.
 */
export type StoredGrant = { id: string; permission: Permission } | { uri: string; permission: Permission };

export const BUCKET_ACL_KIND = "acl";

/** A grantee as a request names it, before ids and email addresses are resolved. */
export type RequestedGrantee = { id: string } | { uri: string } | { email: string };
export interface RequestedGrant {
  grantee: RequestedGrantee;
  permission: Permission;
}

/** What a request asks the ACL to be: a canned ACL or an explicit list of grants. */
export type RequestedAcl = { canned: CannedAcl } | { grants: RequestedGrant[] };

const GRANT_HEADERS: [string, Permission][] = [
  ["x-amz-grant-full-control", "FULL_CONTROL"],
  ["x-amz-grant-read", "READ"],
  ["x-amz-grant-read-acp", "READ_ACP"],
  ["x-amz-grant-write", "WRITE"],
  ["x-amz-grant-write-acp", "WRITE_ACP"],
];

/** S3 keeps at most 100 grants in one ACL. */
const MAX_GRANTS = 100;

const XSI = "http://www.w3.org/2001/XMLSchema-instance";

function isCanned(value: string): value is CannedAcl {
  return (CannedAcls as readonly string[]).includes(value);
}

/** One x-amz-grant-* header: `id="…", uri="…", emailAddress="…"`, comma separated. */
export function parseGrantHeader(name: string, value: string, permission: Permission): RequestedGrant[] {
  const grants: RequestedGrant[] = [];
  for (const part of value.split(",")) {
    const m = /^\s*(id|uri|emailAddress)\s*=\s*(?:"([^"]*)"|([^"\s]*))\s*$/i.exec(part);
    const v = m?.[2] ?? m?.[3];
    if (!m || !v) throw new S3Error("InvalidArgument", undefined, { ArgumentName: name, ArgumentValue: value });
    const kind = m[1]!.toLowerCase();
    const grantee: RequestedGrantee = kind === "id" ? { id: v } : kind === "uri" ? { uri: v } : { email: v };
    grants.push({ grantee, permission });
  }
  return grants;
}

/** x-amz-acl or the x-amz-grant-* headers (never both, as S3 requires), or undefined for neither. */
export function requestedAclFromHeaders(headers: S3Request["headers"]): RequestedAcl | undefined {
  const canned = header(headers, "x-amz-acl");
  let grants: RequestedGrant[] | undefined;
  for (const [name, permission] of GRANT_HEADERS) {
    const value = header(headers, name);
    if (value === undefined) continue;
    grants ??= [];
    grants.push(...parseGrantHeader(name, value, permission));
  }
  if (canned !== undefined) {
    if (grants) throw new S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed");
    if (!isCanned(canned)) throw new S3Error("InvalidArgument", undefined, { ArgumentName: "x-amz-acl", ArgumentValue: canned });
    return { canned };
  }
  if (grants && grants.length > MAX_GRANTS) throw new S3Error("MalformedACLError");
  return grants ? { grants } : undefined;
}

/**
 * An AccessControlPolicy document. The codec drops attributes, so a grantee's xsi:type is read
 * from what it carries: ID (CanonicalUser), URI (Group) or EmailAddress (AmazonCustomerByEmail).
 */
export function parseAccessControlPolicy(body: Buffer): { ownerId?: string; grants: RequestedGrant[] } {
  const doc = parseXml(body, "AccessControlPolicy");
  const owner = elementOf(doc, "Owner");
  const ownerId = owner ? textOf(owner, "ID")?.trim() : undefined;
  const list = elementOf(doc, "AccessControlList");
  if (!list) throw new S3Error("MalformedACLError");
  const grants: RequestedGrant[] = [];
  for (const node of asArray(list.Grant as XmlNode | XmlNode[] | undefined)) {
    if (typeof node !== "object" || Array.isArray(node)) throw new S3Error("MalformedACLError");
    const grantee = elementOf(node, "Grantee");
    const permission = textOf(node, "Permission")?.trim();
    if (!grantee || permission === undefined || !(Permissions as readonly string[]).includes(permission)) throw new S3Error("MalformedACLError");
    const id = textOf(grantee, "ID")?.trim();
    const uri = textOf(grantee, "URI")?.trim();
    const email = textOf(grantee, "EmailAddress")?.trim();
    const named: RequestedGrantee[] = [];
    if (id) named.push({ id });
    if (uri) named.push({ uri });
    if (email) named.push({ email });
    if (named.length !== 1) throw new S3Error("MalformedACLError");
    grants.push({ grantee: named[0]!, permission: permission as Permission });
  }
  if (grants.length > MAX_GRANTS) throw new S3Error("MalformedACLError");
  return { ownerId: ownerId || undefined, grants };
}

/** The grants a canned ACL stands for, given the resource's owner and the bucket's owner. */
export function cannedGrants(acl: CannedAcl, ownerId: string, bucketOwnerId: string): StoredGrant[] {
  const owner: StoredGrant = { id: ownerId, permission: "FULL_CONTROL" };
  const forBucketOwner = (permission: Permission): StoredGrant[] => (bucketOwnerId === ownerId ? [] : [{ id: bucketOwnerId, permission }]);
  switch (acl) {
    case "private":
      return [owner];
    case "public-read":
      return [owner, { uri: Groups.AllUsers, permission: "READ" }];
    case "public-read-write":
      return [owner, { uri: Groups.AllUsers, permission: "READ" }, { uri: Groups.AllUsers, permission: "WRITE" }];
    case "authenticated-read":
      return [owner, { uri: Groups.AuthenticatedUsers, permission: "READ" }];
    case "aws-exec-read":
      return [owner, { id: EC2_CANONICAL_ID, permission: "READ" }];
    case "bucket-owner-read":
      return [owner, ...forBucketOwner("READ")];
    case "bucket-owner-full-control":
      return [owner, ...forBucketOwner("FULL_CONTROL")];
    case "log-delivery-write":
      return [owner, { uri: Groups.LogDelivery, permission: "WRITE" }, { uri: Groups.LogDelivery, permission: "READ_ACP" }];
  }
}

/** Canonical ids of the accounts this server knows, which grants by id may name. */
export async function knownCanonicalIds(ctx: ServerContext): Promise<Map<string, { accountId: string; displayName: string }>> {
  const ids = new Map<string, { accountId: string; displayName: string }>();
  for (const a of await ctx.metadata.listAccounts()) ids.set(a.canonicalId, { accountId: a.accountId, displayName: a.displayName });
  return ids;
}

/** Explicit grants with every grantee checked: a known canonical user or a predefined group. */
export function resolveGrants(grants: RequestedGrant[], isKnownId: (id: string) => boolean): StoredGrant[] {
  return grants.map(({ grantee, permission }): StoredGrant => {
    if ("email" in grantee) throw new S3Error("UnresolvableGrantByEmailAddress", undefined, { EmailAddress: grantee.email });
    if ("uri" in grantee) {
      if (!GROUP_URIS.has(grantee.uri)) throw new S3Error("InvalidArgument", "Invalid group uri", { ArgumentName: "uri", ArgumentValue: grantee.uri });
      return { uri: grantee.uri, permission };
    }
    if (grantee.id !== EC2_CANONICAL_ID && !isKnownId(grantee.id)) throw new S3Error("InvalidArgument", "Invalid id", { ArgumentName: "CanonicalUser/ID", ArgumentValue: grantee.id });
    return { id: grantee.id, permission };
  });
}


/** The grants a request asks for, resolved against the resource's owner and the bucket's owner. */
async function resolveRequested(ctx: ServerContext, requested: RequestedAcl, ownerId: string, bucketOwnerId: string): Promise<StoredGrant[]> {
  if ("canned" in requested) return cannedGrants(requested.canned, ownerId, bucketOwnerId);
  const known = requested.grants.some((g) => "id" in g.grantee) ? await knownCanonicalIds(ctx) : new Map<string, unknown>();
  return resolveGrants(requested.grants, (id) => known.has(id));
}

/** Grants as stored: undefined when they are the default, the owner's FULL_CONTROL alone. */
export function compactGrants(grants: StoredGrant[], ownerId: string): StoredGrant[] | undefined {
  const only = grants.length === 1 ? grants[0]! : undefined;
  return only && "id" in only && only.id === ownerId && only.permission === "FULL_CONTROL" ? undefined : grants;
}

export function grantsOrDefault(stored: StoredGrant[] | undefined, ownerId: string): StoredGrant[] {
  return stored ?? [{ id: ownerId, permission: "FULL_CONTROL" }];
}

const OWNER_ONLY_CANNED: ReadonlySet<string> = new Set(["private", "bucket-owner-full-control", "bucket-owner-read"]);

/**
 * With ACLs disabled S3 still accepts the one ACL that changes nothing: bucket-owner-full-control,
 * or explicit grants (headers or XML) giving the bucket owner FULL_CONTROL and no one else anything.
 */
function isBucketOwnerFullControl(requested: RequestedAcl, bucketOwnerId: string): boolean {
  // With ACLs disabled the bucket owner owns every object, so these canned ACLs all come to the
  // owner's FULL_CONTROL alone (rclone, for one, sends `private` by default).
  if ("canned" in requested) return OWNER_ONLY_CANNED.has(requested.canned);
  return (
    requested.grants.length > 0 &&
    requested.grants.every((g) => "id" in g.grantee && g.grantee.id === bucketOwnerId && g.permission === "FULL_CONTROL")
  );
}

function grantsOthers(grants: StoredGrant[], ownerId: string): boolean {
  return grants.some((g) => !("id" in g) || g.id !== ownerId);
}

// ---- Block Public Access (public-access-block.ts) ----

/** S3's public ACL grant: any permission for AllUsers or AuthenticatedUsers. */
export function isPublicGrant(g: StoredGrant): boolean {
  return "uri" in g && (g.uri === Groups.AllUsers || g.uri === Groups.AuthenticatedUsers);
}

/**
 * BlockPublicAcls: an ACL a request would set (a write's headers, Put*Acl) that is public is 403
 * AccessDenied. Checked after the ACL is validated and after the ACLs-disabled refusal
 * (AccessControlListNotSupported), which S3 answers first.
 */
async function refusePublicAcl(ctx: ServerContext, bucket: string, grants: StoredGrant[]): Promise<void> {
  if (grants.some(isPublicGrant) && (await publicAccessBlockOf(ctx.settings, bucket))?.blockPublicAcls) throw new S3Error("AccessDenied");
}

/** IgnorePublicAcls: the grants S3 enforces (and Get*Acl shows), public ones left out while it is set. */
async function effectiveGrants(ctx: ServerContext, bucket: string, grants: StoredGrant[]): Promise<StoredGrant[]> {
  if (!grants.some(isPublicGrant) || !(await publicAccessBlockOf(ctx.settings, bucket))?.ignorePublicAcls) return grants;
  return grants.filter((g) => !isPublicGrant(g));
}

// ---- hooks (capability-hooks.ts) ----

/**
 * CreateBucket's x-amz-object-ownership and ACL headers, checked before the bucket exists. With
 * BucketOwnerEnforced (the default) a bucket ACL granting anyone but the owner is refused, as S3
 * does; `private` and bucket-owner-full-control are accepted since they grant nothing more.
 */
export async function aclOnCreateBucket(req: S3Request, ctx: ServerContext): Promise<{ settings: BucketConfigRow[] }> {
  const objectOwnership = ownershipHeader(header(req.headers, "x-amz-object-ownership"));
  const requested = requestedAclFromHeaders(req.headers);
  let stored: StoredGrant[] | undefined;
  if (requested && req.principal.kind === "account") {
    const ownerId = canonicalIdFor(req.principal.accountId);
    const grants = await resolveRequested(ctx, requested, ownerId, ownerId);
    if (objectOwnership === "BucketOwnerEnforced" && grantsOthers(grants, ownerId)) throw new S3Error("InvalidBucketAclWithObjectOwnership");
    stored = compactGrants(grants, ownerId);
  }
  const controls: OwnershipControls = { objectOwnership };
  return {
    settings: [BucketSettings.initial(OWNERSHIP_KIND, controls), ...(stored ? [BucketSettings.initial(BUCKET_ACL_KIND, stored)] : [])],
  };
}

/**
 * The owner and ACL of a version a write creates. BucketOwnerEnforced: the bucket owner, and any
 * ACL but bucket-owner-full-control is AccessControlListNotSupported. BucketOwnerPreferred: the
 * bucket owner when the write carries bucket-owner-full-control, else the writer. ObjectWriter:
 * the writer. A public ACL is AccessDenied under BlockPublicAcls. The grants go to `extra.acl`
 * unless they are the default.
 */
export async function aclFactsForWrite(req: S3Request, ctx: ServerContext, bucket: BucketRecord): Promise<{ ownerAccountId: string; extra: Record<string, unknown> }> {
  const requested = requestedAclFromHeaders(req.headers);
  const ownership = await objectOwnershipOf(ctx, bucket.name);
  if (ownership === "BucketOwnerEnforced") {
    if (requested && !isBucketOwnerFullControl(requested, canonicalIdFor(bucket.ownerAccountId))) throw new S3Error("AccessControlListNotSupported");
    return { ownerAccountId: bucket.ownerAccountId, extra: {} };
  }
  const ownerAccountId =
    ownership === "BucketOwnerPreferred" && requested !== undefined && "canned" in requested && requested.canned === "bucket-owner-full-control"
      ? bucket.ownerAccountId
      : ownerAccount(req);
  if (!requested) return { ownerAccountId, extra: {} };
  const ownerId = canonicalIdFor(ownerAccountId);
  const grants = await resolveRequested(ctx, requested, ownerId, canonicalIdFor(bucket.ownerAccountId));
  await refusePublicAcl(ctx, bucket.name, grants);
  const acl = compactGrants(grants, ownerId);
  return { ownerAccountId, extra: acl ? { acl } : {} };
}

// ---- authorization (ACLs evaluated alongside the bucket policy) ----

/** Which ACL and which permission S3 consults for an action when ACLs are enabled. */
const ACL_PERMISSION: Record<string, { on: "bucket" | "object"; permission: Permission }> = {
  "s3:ListBucket": { on: "bucket", permission: "READ" },
  "s3:ListBucketVersions": { on: "bucket", permission: "READ" },
  "s3:ListBucketMultipartUploads": { on: "bucket", permission: "READ" },
  "s3:PutObject": { on: "bucket", permission: "WRITE" },
  "s3:DeleteObject": { on: "bucket", permission: "WRITE" },
  "s3:AbortMultipartUpload": { on: "bucket", permission: "WRITE" },
  "s3:GetBucketAcl": { on: "bucket", permission: "READ_ACP" },
  "s3:PutBucketAcl": { on: "bucket", permission: "WRITE_ACP" },
  "s3:GetObject": { on: "object", permission: "READ" },
  "s3:GetObjectVersion": { on: "object", permission: "READ" },
  "s3:GetObjectAttributes": { on: "object", permission: "READ" },
  "s3:GetObjectVersionAttributes": { on: "object", permission: "READ" },
  "s3:GetObjectAcl": { on: "object", permission: "READ_ACP" },
  "s3:GetObjectVersionAcl": { on: "object", permission: "READ_ACP" },
  "s3:PutObjectAcl": { on: "object", permission: "WRITE_ACP" },
  "s3:PutObjectVersionAcl": { on: "object", permission: "WRITE_ACP" },
};

function grantMatches(g: StoredGrant, principal: Principal, canonical: () => string): boolean {
  if ("uri" in g) return g.uri === Groups.AllUsers || (g.uri === Groups.AuthenticatedUsers && principal.kind === "account");
  return principal.kind === "account" && g.id === canonical();
}

/**
 * Whether the bucket's or the addressed object's ACL grants `action` to the principal. Asked by
 * authorize() only when neither ownership of the bucket nor the policy allowed the request, so
 * owners' requests never read an ACL. A policy Deny has already refused before this is asked.
 * Public grants count for nothing while the bucket's IgnorePublicAcls is set.
 */
export function aclGrants(ctx: ServerContext, principal: Principal, bucket: BucketRecord, key: string | undefined, versionId: string | null | undefined): (action: string) => Promise<boolean> {
  return async (action) => {
    const needed = ACL_PERMISSION[action];
    if (!needed || principal.kind === "service" || !(await aclsEnabled(ctx, bucket.name))) return false;
    let canonicalId: string | undefined;
    const canonical = () => (canonicalId ??= principal.kind === "account" ? canonicalIdFor(principal.accountId) : "");
    let grants: StoredGrant[];
    if (needed.on === "bucket") {
      grants = grantsOrDefault(await ctx.settings.get<StoredGrant[]>(bucket.name, BUCKET_ACL_KIND), canonicalIdFor(bucket.ownerAccountId));
    } else {
      if (key === undefined) return false;
      const v = versionId ? await ctx.metadata.getVersion(bucket.name, key, versionId) : await ctx.metadata.getLatest(bucket.name, key);
      if (!v || v.isDeleteMarker) return false;
      // The object's owner may always read and write its ACL, whatever the ACL says.
      if (principal.kind === "account" && principal.accountId === v.ownerAccountId && needed.permission.endsWith("_ACP")) return true;
      grants = grantsOrDefault(v.extra.acl as StoredGrant[] | undefined, canonicalIdFor(v.ownerAccountId));
    }
    return (await effectiveGrants(ctx, bucket.name, grants)).some(
      (g) => (g.permission === needed.permission || g.permission === "FULL_CONTROL") && grantMatches(g, principal, canonical),
    );
  };
}

// ---- Get/Put*Acl and PutBucketOwnershipControls ----

type Describe = (canonicalId: string) => string | undefined;

async function describer(ctx: ServerContext): Promise<Describe> {
  const known = await knownCanonicalIds(ctx);
  return (id) => (id === EC2_CANONICAL_ID ? "za-team" : known.get(id)?.displayName);
}

function policyXml(ownerId: string, grants: StoredGrant[], describe: Describe): Record<string, unknown> {
  return {
    Owner: { ID: ownerId, DisplayName: describe(ownerId) },
    AccessControlList: grants.length
      ? {
          Grant: grants.map((g) => ({
            Grantee:
              "id" in g
                ? { "@_xmlns:xsi": XSI, "@_xsi:type": "CanonicalUser", ID: g.id, DisplayName: describe(g.id) }
                : { "@_xmlns:xsi": XSI, "@_xsi:type": "Group", URI: g.uri },
            Permission: g.permission,
          })),
        }
      : {},
  };
}

/**
 * The ACL a Put*Acl request asks for: an AccessControlPolicy body, or x-amz-acl / x-amz-grant-*
 * headers, but not both (UnexpectedContent) and not neither (MissingSecurityHeader).
 */
async function requestedAclOfPut(req: S3Request, resourceOwnerId: string): Promise<RequestedAcl> {
  const fromHeaders = requestedAclFromHeaders(req.headers);
  const body = await readBody(req.body, 64 * 1024);
  if (body.length > 0) {
    if (fromHeaders) throw new S3Error("UnexpectedContent");
    const policy = parseAccessControlPolicy(body);
    // The document may name the owner, never change it.
    if (policy.ownerId !== undefined && policy.ownerId !== resourceOwnerId) throw new S3Error("AccessDenied");
    return { grants: policy.grants };
  }
  if (!fromHeaders) throw new S3Error("MissingSecurityHeader", "Your request was missing a required header", { MissingHeaderName: "x-amz-acl" });
  return fromHeaders;
}

export const getObjectAcl: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const v = await addressedVersion(req, ctx);
  const describe = await describer(ctx);
  if (!(await aclsEnabled(ctx, bucket.name))) {
    const ownerId = canonicalIdFor(bucket.ownerAccountId);
    return { xml: { root: "AccessControlPolicy", value: policyXml(ownerId, grantsOrDefault(undefined, ownerId), describe) } };
  }
  const ownerId = canonicalIdFor(v.ownerAccountId);
  const grants = await effectiveGrants(ctx, bucket.name, grantsOrDefault(v.extra.acl as StoredGrant[] | undefined, ownerId));
  return { xml: { root: "AccessControlPolicy", value: policyXml(ownerId, grants, describe) } };
};

export const putObjectAcl: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const v = await addressedVersion(req, ctx);
  const bucketOwnerId = canonicalIdFor(bucket.ownerAccountId);
  const enabled = await aclsEnabled(ctx, bucket.name);
  const ownerId = enabled ? canonicalIdFor(v.ownerAccountId) : bucketOwnerId;
  const requested = await requestedAclOfPut(req, ownerId);
  if (!enabled) {
    if (!isBucketOwnerFullControl(requested, bucketOwnerId)) throw new S3Error("AccessControlListNotSupported");
    return {};
  }
  const grants = await resolveRequested(ctx, requested, ownerId, bucketOwnerId);
  await refusePublicAcl(ctx, bucket.name, grants);
  const acl = compactGrants(grants, ownerId);
  const updated = await ctx.metadata.updateVersion(bucket, v.key, v.versionId, (current: ObjectVersionRecord) => {
    checkDecidedTags(req, current);
    const { acl: _previous, ...rest } = current.extra;
    return { extra: acl ? { ...rest, acl } : rest };
  });
  if (!updated) throw new S3Error("NoSuchVersion", undefined, { Key: v.key, VersionId: v.versionId });
  return { headers: { "x-amz-version-id": bucket.versioning ? v.versionId : undefined } };
};

export const getBucketAcl: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const ownerId = canonicalIdFor(bucket.ownerAccountId);
  const stored = (await aclsEnabled(ctx, bucket.name)) ? await ctx.settings.get<StoredGrant[]>(bucket.name, BUCKET_ACL_KIND) : undefined;
  const grants = await effectiveGrants(ctx, bucket.name, grantsOrDefault(stored, ownerId));
  return { xml: { root: "AccessControlPolicy", value: policyXml(ownerId, grants, await describer(ctx)) } };
};

export const putBucketAcl: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const ownerId = canonicalIdFor(bucket.ownerAccountId);
  const requested = await requestedAclOfPut(req, ownerId);
  if (!(await aclsEnabled(ctx, bucket.name))) {
    if (!isBucketOwnerFullControl(requested, ownerId)) throw new S3Error("AccessControlListNotSupported");
    return {};
  }
  const grants = await resolveRequested(ctx, requested, ownerId, ownerId);
  await refusePublicAcl(ctx, bucket.name, grants);
  const acl = compactGrants(grants, ownerId);
  if (acl) await ctx.settings.put(bucket, BUCKET_ACL_KIND, acl);
  else await ctx.settings.delete(bucket, BUCKET_ACL_KIND);
  return {};
};

/** Disabling ACLs (BucketOwnerEnforced) is refused while the bucket ACL grants anyone but the owner. */
export const putBucketOwnershipControls: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const controls = parseOwnershipControls(await readBody(req.body, 64 * 1024));
  if (controls.objectOwnership === "BucketOwnerEnforced") {
    const stored = await ctx.settings.get<StoredGrant[]>(bucket.name, BUCKET_ACL_KIND);
    if (stored && grantsOthers(stored, canonicalIdFor(bucket.ownerAccountId))) throw new S3Error("InvalidBucketAclWithObjectOwnership");
  }
  await ctx.settings.put(bucket, OWNERSHIP_KIND, controls);
  return {};
};
