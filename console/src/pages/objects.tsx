// A bucket's objects under a prefix, browsed like folders ("/" as the delimiter), or every version
// and delete marker when route.versions is set; upload, download and delete from here, and open
// an object's details (metadata, tags, encryption, checksum, Object Lock) under its row.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { DeleteObjectCommand, GetBucketVersioningCommand, type S3Client } from "@aws-sdk/client-s3";
import type { PageProps } from "../app";
import { describeError, s3 } from "../s3";
import { formatRoute, type Route } from "../route";
import { formatBytes, formatTime } from "../format";
import { BucketHeader, ErrorBanner, Loading, useLoad } from "../ui";
import { downloadObject, listPage, type Cursor, type Entry, type ListingPage } from "./objects-listing";
import { UploadFiles } from "./objects-upload";
import { ObjectDetails } from "./object-details";

type ObjectsRoute = Extract<Route, { page: "objects" }>;

export function Objects({ session, route }: PageProps<"objects">) {
  const client = s3(session);
  const { bucket, prefix, versions } = route;
  const listing = useListing(client, bucket, prefix, versions);
  const [actionError, setActionError] = useState<string>();
  useEffect(() => setActionError(undefined), [bucket, prefix, versions]);

  const act = async (what: string, action: () => Promise<unknown>, reload: boolean) => {
    setActionError(undefined);
    try {
      await action();
      if (reload) listing.reload();
    } catch (err) {
      setActionError(`Could not ${what}: ${describeError(err)}`);
    }
  };
  const folders = listing.pages.flatMap((p) => p.folders);
  const entries = listing.pages.flatMap((p) => p.entries);

  return (
    <section>
      <BucketHeader bucket={bucket} active="objects" />
      <div class="toolbar">
        <Breadcrumbs route={route} />
        <label class="versions-toggle">
          <input
            type="checkbox"
            checked={versions}
            data-testid="show-versions"
            onChange={() => (location.hash = formatRoute({ ...route, versions: !versions }))}
          />{" "}
          Show versions
        </label>
        {versions && <VersioningStatus client={client} bucket={bucket} />}
      </div>
      <UploadFiles client={client} bucket={bucket} prefix={prefix} onUploaded={listing.reload} />
      <ErrorBanner error={listing.error} />
      {actionError && (
        <p class="error" role="alert" data-testid="object-action-error">
          {actionError}
        </p>
      )}
      <Loading when={listing.loading && listing.pages.length === 0} />
      {listing.pages.length > 0 && (
        <table data-testid={versions ? "version-table" : "object-table"}>
          <thead>
            <tr>
              <th>Name</th>
              {versions && <th>Version ID</th>}
              {versions && <th>Latest</th>}
              <th class="num">Size</th>
              <th>Last modified</th>
              <th>Storage class</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {folders.map((folder) => (
              <tr key={"folder:" + folder} data-testid="folder-row" data-prefix={folder}>
                <td colSpan={versions ? 7 : 5}>
                  <a class="key-name" href={formatRoute({ ...route, prefix: folder })} data-testid="folder-link" data-prefix={folder}>
                    {relativeName(folder, prefix)}
                  </a>
                </td>
              </tr>
            ))}
            {entries.map((entry) => (
              <EntryRow
                key={entry.key + "\u0000" + (entry.versionId ?? "")}
                client={client}
                bucket={bucket}
                entry={entry}
                prefix={prefix}
                versions={versions}
                onDownload={() => act(`download ${entry.key}`, () => downloadObject(client, bucket, entry.key, entry.versionId), false)}
                onDelete={() => act(`delete ${entry.key}`, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: entry.key, VersionId: entry.versionId })), true)}
              />
            ))}
            {folders.length === 0 && entries.length === 0 && (
              <tr>
                <td colSpan={versions ? 7 : 5} class="muted" data-testid="empty-listing">
                  Nothing under this prefix.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <div class="toolbar">
        <span class="muted" data-testid="listing-count">
          {folders.length} {folders.length === 1 ? "folder" : "folders"}, {entries.length} {versions ? (entries.length === 1 ? "version" : "versions") : entries.length === 1 ? "object" : "objects"}
          {listing.more ? " shown so far" : ""}
        </span>
        {listing.more && (
          <button type="button" onClick={listing.more} disabled={listing.loading} data-testid="more-button">
            More
          </button>
        )}
        {listing.loading && listing.pages.length > 0 && <span class="muted">Loading…</span>}
      </div>
    </section>
  );
}

function EntryRow({
  client,
  bucket,
  entry,
  prefix,
  versions,
  onDownload,
  onDelete,
}: {
  client: S3Client;
  bucket: string;
  entry: Entry;
  prefix: string;
  versions: boolean;
  onDownload: () => Promise<void>;
  onDelete: () => Promise<void>;
}) {
  const [confirming, setConfirming] = useState(false);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState<"download" | "delete">();
  const run = async (which: "download" | "delete", action: () => Promise<void>) => {
    setBusy(which);
    await action();
    setBusy(undefined);
  };
  const rowProps = versions
    ? { "data-testid": "version-row", "data-version-id": entry.versionId ?? "", "data-key": entry.key, "data-latest": String(entry.isLatest === true), "data-delete-marker": String(entry.deleteMarker) }
    : { "data-testid": "object-row", "data-key": entry.key };
  const name = relativeName(entry.key, prefix);
  return (
    <>
      <tr {...rowProps}>
        <td class="key-name" title={entry.key} data-testid="entry-name">
          {name === "" ? <span class="muted">(the prefix itself)</span> : name}
        </td>
        {versions && (
          <td>
            <code data-testid="version-id">{entry.versionId}</code>
          </td>
        )}
        {versions && <td data-testid="version-latest">{entry.isLatest ? "latest" : ""}</td>}
        <td class="num" data-testid="entry-size">
          {entry.deleteMarker ? <span class="muted">delete marker</span> : formatBytes(entry.size ?? 0)}
        </td>
        <td>{formatTime(entry.lastModified?.toISOString())}</td>
        <td>{entry.storageClass ?? ""}</td>
        <td class="actions">
          {!entry.deleteMarker && (
            <button type="button" class="link" aria-expanded={open} data-testid="details-button" onClick={() => setOpen(!open)}>
              {open ? "Hide details" : "Details"}
            </button>
          )}{" "}
          {!entry.deleteMarker && (
            <button type="button" class="link" disabled={busy !== undefined} data-testid="download-button" onClick={() => run("download", onDownload)}>
              {busy === "download" ? "Downloading…" : "Download"}
            </button>
          )}{" "}
          {confirming ? (
            <>
              <span class="muted">{versions ? (entry.deleteMarker ? "Remove this delete marker?" : "Delete this version for good?") : "Delete?"} </span>
              <button
                type="button"
                class="danger"
                disabled={busy !== undefined}
                data-testid="delete-confirm"
                onClick={() => run("delete", onDelete).then(() => setConfirming(false))}
              >
                Delete
              </button>{" "}
              <button type="button" disabled={busy !== undefined} data-testid="delete-cancel" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button type="button" class="link danger" disabled={busy !== undefined} data-testid="delete-button" onClick={() => setConfirming(true)}>
              Delete…
            </button>
          )}
        </td>
      </tr>
      {open && <ObjectDetails client={client} bucket={bucket} objectKey={entry.key} versionId={entry.versionId} columns={versions ? 7 : 5} />}
    </>
  );
}

function Breadcrumbs({ route }: { route: ObjectsRoute }) {
  const parts = route.prefix.split("/");
  // A prefix ending in "/" splits into a last empty part that names nothing.
  if (parts.at(-1) === "") parts.pop();
  const crumbs = parts.map((part, i) => ({
    label: part === "" ? "(empty)" : part,
    prefix: parts.slice(0, i + 1).join("/") + (i < parts.length - 1 || route.prefix.endsWith("/") ? "/" : ""),
  }));
  return (
    <nav class="breadcrumbs" data-testid="breadcrumbs" aria-label="Prefix">
      <a href={formatRoute({ ...route, prefix: "" })} data-testid="crumb" data-prefix="">
        {route.bucket}
      </a>
      {crumbs.map((c) => (
        <span key={c.prefix}>
          {" / "}
          <a class="key-name" href={formatRoute({ ...route, prefix: c.prefix })} data-testid="crumb" data-prefix={c.prefix}>
            {c.label}
          </a>
        </span>
      ))}
    </nav>
  );
}

function VersioningStatus({ client, bucket }: { client: S3Client; bucket: string }) {
  const status = useLoad(async () => (await client.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, [client, bucket]);
  if (status.error) return <span class="bad">{status.error}</span>;
  if (status.loading) return null;
  return (
    <span class="muted" data-testid="versioning-status">
      Versioning: {status.data ?? "never enabled"}
    </span>
  );
}

function relativeName(key: string, prefix: string): string {
  return key.startsWith(prefix) ? key.slice(prefix.length) : key;
}

interface Listing {
  pages: ListingPage[];
  error: string | undefined;
  loading: boolean;
  reload: () => void;
  /** Loads the next page; absent when the last page is shown. */
  more: (() => void) | undefined;
}

/**
 * The listing's pages so far. A reload starts again from the first page but keeps showing the
 * old rows until it arrives; pages of another bucket, prefix or mode are never shown.
 */
function useListing(client: S3Client, bucket: string, prefix: string, versions: boolean): Listing {
  const view = JSON.stringify([bucket, prefix, versions]);
  const [state, setState] = useState<{ view: string; pages: ListingPage[]; error?: string; loading: boolean }>({ view, pages: [], loading: true });
  // Only the latest request may write its answer.
  const latest = useRef(0);
  const fetchPage = useCallback(
    (cursor: Cursor | undefined, earlier: ListingPage[]) => {
      const request = ++latest.current;
      setState((s) => ({ view, pages: s.view === view ? s.pages : [], loading: true }));
      listPage(client, bucket, prefix, versions, cursor).then(
        (page) => request === latest.current && setState({ view, pages: [...earlier, page], loading: false }),
        (err: unknown) => request === latest.current && setState((s) => ({ ...s, error: describeError(err), loading: false })),
      );
    },
    [client, bucket, prefix, versions, view],
  );
  const reload = useCallback(() => fetchPage(undefined, []), [fetchPage]);
  useEffect(reload, [reload]);
  const pages = state.view === view ? state.pages : [];
  const next = pages.at(-1)?.next;
  return {
    pages,
    error: state.view === view ? state.error : undefined,
    loading: state.loading || state.view !== view,
    reload,
    more: next === undefined ? undefined : () => fetchPage(next, pages),
  };
}
