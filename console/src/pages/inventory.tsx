// A bucket's inventory configurations: where each one's reports go, in what shape and how often,
// with the actions on it (edit, run now, its runs and insight, delete).
import { useState } from "preact/hooks";
import { DeleteBucketInventoryConfigurationCommand, ListBucketInventoryConfigurationsCommand, type InventoryConfiguration } from "@aws-sdk/client-s3";
import type { PageProps } from "../app";
import { bucketOfArn, describeError, s3, signedJson, type Session } from "../s3";
import { formatRoute } from "../route";
import { BucketHeader, ErrorBanner, Loading, useLoad } from "../ui";

async function listConfigurations(session: Session, bucket: string): Promise<InventoryConfiguration[]> {
  const all: InventoryConfiguration[] = [];
  let token: string | undefined;
  do {
    const page = await s3(session).send(new ListBucketInventoryConfigurationsCommand({ Bucket: bucket, ContinuationToken: token }));
    all.push(...(page.InventoryConfigurationList ?? []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return all;
}

function encryptionOf(c: InventoryConfiguration): string {
  const e = c.Destination?.S3BucketDestination?.Encryption;
  if (e?.SSEKMS) return `SSE-KMS ${e.SSEKMS.KeyId ?? ""}`.trim();
  if (e?.SSES3) return "SSE-S3";
  return "none";
}

export function InventoryConfigs({ session, route }: PageProps<"inventory">) {
  const { bucket } = route;
  const configs = useLoad(() => listConfigurations(session, bucket), [session, bucket]);
  const [actionError, setActionError] = useState<string>();
  const [confirming, setConfirming] = useState<string>();
  const [busy, setBusy] = useState(false);

  const runNow = async (id: string) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await signedJson(session, { method: "POST", bucket, query: { inventory: "", id, run: "" } });
      location.hash = formatRoute({ page: "runs", bucket, id });
    } catch (err) {
      setActionError(`Could not start ${id}: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const remove = async (id: string) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await s3(session).send(new DeleteBucketInventoryConfigurationCommand({ Bucket: bucket, Id: id }));
      setConfirming(undefined);
      configs.reload();
    } catch (err) {
      setActionError(`Could not delete ${id}: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <BucketHeader bucket={bucket} active="inventory" />
      <div class="toolbar">
        <a class="button primary" data-testid="new-config" href={formatRoute({ page: "inventory-edit", bucket })}>
          New configuration
        </a>
      </div>
      <ErrorBanner error={configs.error} />
      {actionError && (
        <p class="error" role="alert" data-testid="config-action-error">
          {actionError}
        </p>
      )}
      <Loading when={configs.loading && !configs.data} />
      {configs.data?.length === 0 && (
        <p class="muted" data-testid="no-configs">
          This bucket has no inventory configuration yet.
        </p>
      )}
      {configs.data && configs.data.length > 0 && (
        <table data-testid="config-table">
          <thead>
            <tr>
              <th>Id</th>
              <th>Enabled</th>
              <th>Destination</th>
              <th>Format</th>
              <th>Frequency</th>
              <th>Versions</th>
              <th>Prefix filter</th>
              <th class="num">Optional fields</th>
              <th>Encryption</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {configs.data.map((c) => {
              const id = c.Id ?? "";
              const dest = c.Destination?.S3BucketDestination;
              return (
                <tr key={id} data-testid="config-row" data-id={id}>
                  <td>
                    <a href={formatRoute({ page: "inventory-edit", bucket, id })}>{id}</a>
                  </td>
                  <td>{c.IsEnabled ? "yes" : <span class="muted">no</span>}</td>
                  <td class="key-name">
                    {bucketOfArn(dest?.Bucket)}
                    {dest?.Prefix ? "/" + dest.Prefix : ""}
                    {dest?.AccountId ? <span class="muted"> (account {dest.AccountId})</span> : null}
                  </td>
                  <td>{dest?.Format}</td>
                  <td>{c.Schedule?.Frequency}</td>
                  <td>{c.IncludedObjectVersions}</td>
                  <td class="key-name">{c.Filter?.Prefix ?? ""}</td>
                  <td class="num" data-testid="config-field-count">
                    {c.OptionalFields?.length ?? 0}
                  </td>
                  <td>{encryptionOf(c)}</td>
                  <td class="actions">
                    <a href={formatRoute({ page: "inventory-edit", bucket, id })}>Edit</a>{" "}
                    <a href={formatRoute({ page: "runs", bucket, id })}>Runs</a>{" "}
                    <a href={formatRoute({ page: "insight", bucket, id })}>Insight</a>{" "}
                    <button type="button" data-testid="run-now" disabled={busy} onClick={() => void runNow(id)}>
                      Run now
                    </button>{" "}
                    {confirming === id ? (
                      <>
                        <button type="button" class="danger" data-testid="delete-config-confirm" disabled={busy} onClick={() => void remove(id)}>
                          Delete {id}
                        </button>{" "}
                        <button type="button" onClick={() => setConfirming(undefined)}>
                          Cancel
                        </button>
                      </>
                    ) : (
                      <button type="button" class="danger" data-testid="delete-config" onClick={() => setConfirming(id)}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}
