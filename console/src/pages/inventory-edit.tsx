// Create or edit one inventory configuration. The form only gathers the fields: the server
// validates them, and its error (code and message) is shown as the API returned it, so the
// console accepts and refuses exactly what PutBucketInventoryConfiguration does.
import { useEffect, useState } from "preact/hooks";
import {
  GetBucketInventoryConfigurationCommand,
  ListBucketsCommand,
  PutBucketInventoryConfigurationCommand,
  type InventoryConfiguration,
  type InventoryFormat,
  type InventoryFrequency,
  type InventoryIncludedObjectVersions,
  type InventoryOptionalField,
} from "@aws-sdk/client-s3";
import { OPTIONAL_FIELDS } from "../../../src/inventory/fields";
import type { PageProps } from "../app";
import { bucketOfArn, describeError, s3, type Session } from "../s3";
import { formatRoute } from "../route";
import { BucketHeader, ErrorBanner, Loading, useLoad } from "../ui";

type Encryption = "none" | "SSE-S3" | "SSE-KMS";

interface Draft {
  id: string;
  enabled: boolean;
  destinationBucket: string;
  destinationPrefix: string;
  accountId: string;
  format: InventoryFormat;
  frequency: InventoryFrequency;
  versions: InventoryIncludedObjectVersions;
  filterPrefix: string;
  encryption: Encryption;
  kmsKeyId: string;
  fields: string[];
}

const NEW_DRAFT: Draft = {
  id: "",
  enabled: true,
  destinationBucket: "",
  destinationPrefix: "",
  accountId: "",
  format: "CSV",
  frequency: "Daily",
  versions: "Current",
  filterPrefix: "",
  encryption: "none",
  kmsKeyId: "",
  fields: [],
};

function draftOf(c: InventoryConfiguration): Draft {
  const dest = c.Destination?.S3BucketDestination;
  const enc = dest?.Encryption;
  return {
    id: c.Id ?? "",
    enabled: c.IsEnabled ?? false,
    destinationBucket: bucketOfArn(dest?.Bucket) ?? "",
    destinationPrefix: dest?.Prefix ?? "",
    accountId: dest?.AccountId ?? "",
    format: dest?.Format ?? "CSV",
    frequency: c.Schedule?.Frequency ?? "Daily",
    versions: c.IncludedObjectVersions ?? "Current",
    filterPrefix: c.Filter?.Prefix ?? "",
    encryption: enc?.SSEKMS ? "SSE-KMS" : enc?.SSES3 ? "SSE-S3" : "none",
    kmsKeyId: enc?.SSEKMS?.KeyId ?? "",
    fields: [...(c.OptionalFields ?? [])],
  };
}

/** The configuration as the API takes it; empty optional parts are left out, not sent empty. */
function configurationOf(d: Draft): InventoryConfiguration {
  return {
    Id: d.id,
    IsEnabled: d.enabled,
    IncludedObjectVersions: d.versions,
    Schedule: { Frequency: d.frequency },
    ...(d.filterPrefix === "" ? {} : { Filter: { Prefix: d.filterPrefix } }),
    OptionalFields: d.fields as InventoryOptionalField[],
    Destination: {
      S3BucketDestination: {
        Bucket: `arn:aws:s3:::${d.destinationBucket}`,
        Format: d.format,
        ...(d.destinationPrefix === "" ? {} : { Prefix: d.destinationPrefix }),
        ...(d.accountId === "" ? {} : { AccountId: d.accountId }),
        ...(d.encryption === "SSE-S3" ? { Encryption: { SSES3: {} } } : {}),
        ...(d.encryption === "SSE-KMS" ? { Encryption: { SSEKMS: { KeyId: d.kmsKeyId } } } : {}),
      },
    },
  };
}

async function loadDraft(session: Session, bucket: string, id: string | undefined): Promise<Draft> {
  if (id === undefined) return NEW_DRAFT;
  const got = await s3(session).send(new GetBucketInventoryConfigurationCommand({ Bucket: bucket, Id: id }));
  if (got.InventoryConfiguration === undefined) throw new Error(`the server answered no configuration for ${id}`);
  return draftOf(got.InventoryConfiguration);
}

export function InventoryEdit({ session, route }: PageProps<"inventory-edit">) {
  const { bucket, id } = route;
  const editing = id !== undefined;
  const loaded = useLoad(() => loadDraft(session, bucket, id), [session, bucket, id]);
  const buckets = useLoad(async () => (await s3(session).send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name ?? "") ?? [], [session]);
  const [draft, setDraft] = useState<Draft>();
  const [saveError, setSaveError] = useState<string>();
  const [saving, setSaving] = useState(false);
  useEffect(() => setDraft(loaded.data), [loaded.data]);
  // Pages stay mounted across routes of the same page: another configuration starts without the last one's error.
  useEffect(() => setSaveError(undefined), [bucket, id]);

  const set = <K extends keyof Draft>(name: K, value: Draft[K]) => setDraft((d) => d && { ...d, [name]: value });
  const toggleField = (name: string, on: boolean) =>
    setDraft((d) => d && { ...d, fields: on ? OPTIONAL_FIELDS.filter((f) => f === name || d.fields.includes(f)) : d.fields.filter((f) => f !== name) });

  const save = async (e: Event) => {
    e.preventDefault();
    if (!draft) return;
    setSaving(true);
    setSaveError(undefined);
    try {
      await s3(session).send(new PutBucketInventoryConfigurationCommand({ Bucket: bucket, Id: draft.id, InventoryConfiguration: configurationOf(draft) }));
      location.hash = formatRoute({ page: "inventory", bucket });
    } catch (err) {
      setSaveError(describeError(err));
    } finally {
      setSaving(false);
    }
  };

  const text = (name: "id" | "destinationBucket" | "destinationPrefix" | "accountId" | "filterPrefix" | "kmsKeyId") => ({
    name,
    "data-testid": `input-${name}`,
    value: draft?.[name] ?? "",
    onInput: (e: Event) => set(name, (e.currentTarget as HTMLInputElement).value),
  });
  const choice = <K extends "format" | "frequency" | "versions" | "encryption">(name: K) => ({
    name,
    "data-testid": `input-${name}`,
    value: draft?.[name],
    onChange: (e: Event) => set(name, (e.currentTarget as HTMLSelectElement).value as Draft[K]),
  });

  return (
    <>
      <BucketHeader bucket={bucket} active="inventory" />
      <h2>{editing ? `Edit ${id}` : "New inventory configuration"}</h2>
      <ErrorBanner error={loaded.error} />
      <Loading when={loaded.loading && !draft} />
      {draft && (
        <form class="config" data-testid="config-form" onSubmit={save}>
          <label class="row">
            Id
            <input {...text("id")} required readOnly={editing} />
          </label>
          <label class="row">
            Enabled
            <input type="checkbox" name="enabled" data-testid="input-enabled" checked={draft.enabled} onChange={(e) => set("enabled", e.currentTarget.checked)} />
          </label>
          <label class="row">
            Destination bucket
            <input {...text("destinationBucket")} list="destination-buckets" required />
          </label>
          <datalist id="destination-buckets">
            {buckets.data?.map((b) => (
              <option key={b} value={b} />
            ))}
          </datalist>
          <label class="row">
            Destination prefix
            <input {...text("destinationPrefix")} />
          </label>
          <label class="row">
            Destination account id
            <input {...text("accountId")} placeholder="optional: the account expected to own the destination" />
          </label>
          <label class="row">
            Format
            <select {...choice("format")}>
              <option value="CSV">CSV</option>
              <option value="ORC">ORC</option>
              <option value="Parquet">Parquet</option>
            </select>
          </label>
          <label class="row">
            Frequency
            <select {...choice("frequency")}>
              <option value="Daily">Daily</option>
              <option value="Weekly">Weekly</option>
            </select>
          </label>
          <label class="row">
            Object versions
            <select {...choice("versions")}>
              <option value="Current">Current</option>
              <option value="All">All</option>
            </select>
          </label>
          <label class="row">
            Only keys starting with
            <input {...text("filterPrefix")} />
          </label>
          <label class="row">
            Report encryption
            <select {...choice("encryption")}>
              <option value="none">None</option>
              <option value="SSE-S3">SSE-S3</option>
              <option value="SSE-KMS">SSE-KMS</option>
            </select>
          </label>
          {draft.encryption === "SSE-KMS" && (
            <label class="row">
              KMS key id
              <input {...text("kmsKeyId")} />
            </label>
          )}
          <fieldset data-testid="optional-fields">
            <legend>
              Optional fields ({draft.fields.length} of {OPTIONAL_FIELDS.length}){" "}
              <button type="button" class="link" data-testid="fields-all" onClick={() => set("fields", [...OPTIONAL_FIELDS])}>
                all
              </button>{" "}
              <button type="button" class="link" data-testid="fields-none" onClick={() => set("fields", [])}>
                none
              </button>
            </legend>
            <div class="fields">
              {OPTIONAL_FIELDS.map((f) => (
                <label key={f}>
                  <input type="checkbox" data-testid={`field-${f}`} checked={draft.fields.includes(f)} onChange={(e) => toggleField(f, e.currentTarget.checked)} /> {f}
                </label>
              ))}
            </div>
          </fieldset>
          {saveError && (
            <p class="error" role="alert" data-testid="config-error">
              {saveError}
            </p>
          )}
          <div class="toolbar">
            <button type="submit" class="primary" data-testid="save-config" disabled={saving}>
              Save
            </button>
            <a href={formatRoute({ page: "inventory", bucket })}>Cancel</a>
          </div>
        </form>
      )}
    </>
  );
}
