// The signed-in account's buckets: list, create, delete an empty one.
import { useState } from "preact/hooks";
import { CreateBucketCommand, DeleteBucketCommand, ListBucketsCommand, type Bucket } from "@aws-sdk/client-s3";
import type { PageProps } from "../app";
import { describeError, s3 } from "../s3";
import { formatRoute } from "../route";
import { formatTime } from "../format";
import { ErrorBanner, Loading, useLoad } from "../ui";

export function Buckets({ session }: PageProps<"buckets">) {
  const client = s3(session);
  const list = useLoad(async () => (await client.send(new ListBucketsCommand({}))).Buckets ?? [], [client]);
  const [actionError, setActionError] = useState<string>();
  const buckets = list.data ?? [];
  return (
    <section>
      <h1>Buckets</h1>
      <CreateBucket
        session={session}
        existing={buckets}
        onCreated={() => {
          setActionError(undefined);
          list.reload();
        }}
      />
      <ErrorBanner error={list.error} />
      {actionError && (
        <p class="error" role="alert" data-testid="bucket-action-error">
          {actionError}
        </p>
      )}
      <Loading when={list.loading && list.data === undefined} />
      {list.data !== undefined && (
        <table data-testid="bucket-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {buckets.map((b) => (
              <BucketRow
                key={b.Name}
                bucket={b}
                onDelete={async () => {
                  setActionError(undefined);
                  try {
                    await client.send(new DeleteBucketCommand({ Bucket: b.Name }));
                    list.reload();
                  } catch (err) {
                    setActionError(`Could not delete ${b.Name}: ${describeError(err)}`);
                  }
                }}
              />
            ))}
            {buckets.length === 0 && (
              <tr>
                <td colSpan={3} class="muted" data-testid="no-buckets">
                  No buckets yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}

function BucketRow({ bucket, onDelete }: { bucket: Bucket; onDelete: () => Promise<void> }) {
  const name = bucket.Name ?? "";
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  return (
    <tr data-testid="bucket-row" data-bucket={name}>
      <td>
        <a href={formatRoute({ page: "objects", bucket: name, prefix: "", versions: false })} data-testid="bucket-link">
          {name}
        </a>
      </td>
      <td>{formatTime(bucket.CreationDate?.toISOString())}</td>
      <td class="actions">
        {confirming ? (
          <>
            <span class="muted">Delete {name}? </span>
            <button
              type="button"
              class="danger"
              disabled={busy}
              data-testid="bucket-delete-confirm"
              onClick={async () => {
                setBusy(true);
                await onDelete();
                setBusy(false);
                setConfirming(false);
              }}
            >
              Delete
            </button>{" "}
            <button type="button" disabled={busy} data-testid="bucket-delete-cancel" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </>
        ) : (
          <button type="button" class="danger" data-testid="bucket-delete" onClick={() => setConfirming(true)}>
            Delete…
          </button>
        )}
      </td>
    </tr>
  );
}

function CreateBucket({ session, existing, onCreated }: { session: PageProps<"buckets">["session"]; existing: Bucket[]; onCreated: () => void }) {
  const [name, setName] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const bucket = name.trim();
    // S3 in us-east-1 answers a create of a bucket you already own with success (a legacy rule),
    // which would read as "created" here; say what is really the case instead.
    if (existing.some((b) => b.Name === bucket)) {
      setError(`BucketAlreadyOwnedByYou: you already own a bucket named ${bucket}`);
      return;
    }
    setBusy(true);
    try {
      await s3(session).send(
        new CreateBucketCommand({
          Bucket: bucket,
          ...(session.region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: session.region as never } }),
        }),
      );
      setName("");
      onCreated();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="toolbar" onSubmit={submit}>
      <input
        name="bucket"
        placeholder="new-bucket-name"
        aria-label="New bucket name"
        value={name}
        onInput={(e) => setName(e.currentTarget.value)}
        data-testid="create-bucket-input"
        required
      />
      <button type="submit" class="primary" disabled={busy || name.trim() === ""} data-testid="create-bucket-button">
        Create bucket
      </button>
      {error && (
        <p class="error" role="alert" data-testid="create-bucket-error">
          {error}
        </p>
      )}
    </form>
  );
}
