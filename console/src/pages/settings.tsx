// A bucket's settings, read-only: versioning, ownership, Block Public Access, default encryption,
// Object Lock, lifecycle rules, policy, CORS, tags, logging and replication, each read with its own
// Get request. What is not configured says so; what the caller may not read shows the refusal,
// so one missing permission does not hide the rest.
import type { ComponentChildren } from "preact";
import { useMemo } from "preact/hooks";
import {
  GetBucketCorsCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLoggingCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketReplicationCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { PageProps } from "../app";
import { s3 } from "../s3";
import { BucketHeader, useLoad } from "../ui";

/** S3's answers for a setting that was never set: shown as such, not as an error. */
const NOT_CONFIGURED = new Set([
  "NoSuchBucketPolicy",
  "NoSuchCORSConfiguration",
  "NoSuchLifecycleConfiguration",
  "NoSuchTagSet",
  "NoSuchPublicAccessBlockConfiguration",
  "ObjectLockConfigurationNotFoundError",
  "OwnershipControlsNotFoundError",
  "ReplicationConfigurationNotFoundError",
  "ServerSideEncryptionConfigurationNotFoundError",
]);

/** A setting's text, "" when not configured; a refusal or other failure is thrown. */
async function read(get: () => Promise<string>): Promise<string> {
  try {
    return await get();
  } catch (err) {
    if (err instanceof Error && NOT_CONFIGURED.has(err.name)) return "";
    throw err;
  }
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

function settings(client: S3Client, Bucket: string): { id: string; title: string; load: () => Promise<string> }[] {
  return [
    {
      id: "versioning",
      title: "Versioning",
      load: async () => {
        const v = await client.send(new GetBucketVersioningCommand({ Bucket }));
        return [v.Status ?? "never enabled", v.MFADelete ? `MFA delete: ${v.MFADelete}` : ""].filter(Boolean).join("\n");
      },
    },
    { id: "ownership", title: "Object ownership", load: async () => (await client.send(new GetBucketOwnershipControlsCommand({ Bucket }))).OwnershipControls?.Rules?.map((r) => r.ObjectOwnership).join(", ") ?? "" },
    {
      id: "public-access-block",
      title: "Block Public Access",
      load: async () => {
        const c = (await client.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration ?? {};
        return (["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] as const).map((k) => `${k}: ${c[k] === true ? "on" : "off"}`).join("\n");
      },
    },
    {
      id: "encryption",
      title: "Default encryption",
      load: async () =>
        ((await client.send(new GetBucketEncryptionCommand({ Bucket }))).ServerSideEncryptionConfiguration?.Rules ?? [])
          .map((r) => {
            const d = r.ApplyServerSideEncryptionByDefault;
            return `${d?.SSEAlgorithm ?? ""}${d?.KMSMasterKeyID ? ` (${d.KMSMasterKeyID})` : ""}${r.BucketKeyEnabled ? ", bucket key" : ""}`;
          })
          .join("\n"),
    },
    { id: "object-lock", title: "Object Lock", load: async () => json((await client.send(new GetObjectLockConfigurationCommand({ Bucket }))).ObjectLockConfiguration) },
    { id: "lifecycle", title: "Lifecycle rules", load: async () => json((await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules) },
    {
      id: "policy",
      title: "Bucket policy",
      load: async () => {
        const text = (await client.send(new GetBucketPolicyCommand({ Bucket }))).Policy ?? "";
        try {
          return json(JSON.parse(text));
        } catch {
          return text;
        }
      },
    },
    { id: "cors", title: "CORS", load: async () => json((await client.send(new GetBucketCorsCommand({ Bucket }))).CORSRules) },
    { id: "tags", title: "Tags", load: async () => ((await client.send(new GetBucketTaggingCommand({ Bucket }))).TagSet ?? []).map((t) => `${t.Key} = ${t.Value}`).join("\n") },
    {
      id: "logging",
      title: "Server access logging",
      load: async () => {
        const l = (await client.send(new GetBucketLoggingCommand({ Bucket }))).LoggingEnabled;
        return l ? `to ${l.TargetBucket}/${l.TargetPrefix ?? ""}` : "";
      },
    },
    { id: "replication", title: "Replication", load: async () => json((await client.send(new GetBucketReplicationCommand({ Bucket }))).ReplicationConfiguration) },
  ];
}

function Setting({ id, title, load }: { id: string; title: string; load: () => Promise<string> }) {
  const value = useLoad(() => read(load), [load]);
  let body: ComponentChildren;
  if (value.loading && value.data === undefined) body = <span class="muted">Loading…</span>;
  else if (value.error) body = <span class="error">{value.error}</span>;
  else if (value.data === "") body = <span class="muted">not configured</span>;
  else body = <pre class="key-name">{value.data}</pre>;
  return (
    <div data-testid="setting" data-setting={id} data-state={value.error ? "error" : value.data === "" ? "none" : value.data === undefined ? "loading" : "set"}>
      <dt>{title}</dt>
      <dd>{body}</dd>
    </div>
  );
}

export function Settings({ session, route }: PageProps<"settings">) {
  const client = s3(session);
  const list = useMemo(() => settings(client, route.bucket), [client, route.bucket]);
  return (
    <section>
      <BucketHeader bucket={route.bucket} active="settings" />
      <dl class="details settings" data-testid="settings">
        {list.map((s) => (
          <Setting key={s.id} {...s} />
        ))}
      </dl>
    </section>
  );
}
