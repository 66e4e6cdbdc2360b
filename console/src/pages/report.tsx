// One inventory report as its destination bucket holds it: the manifest, its data files with
// their sizes and checksums, and a preview of any file's first rows in its own format.
import { useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { PageProps } from "../app";
import { describeError, s3, type Session } from "../s3";
import { downloadObject } from "./objects-listing";
import { formatRoute } from "../route";
import { formatBytes, formatCount, formatTime } from "../format";
import { ErrorBanner, Loading, useLoad } from "../ui";
import { cellText, readPreview, type ByteSource, type ReportFormat, type TablePreview } from "../preview";

const PREVIEW_ROWS = 20;

interface ManifestFile {
  key: string;
  size: number;
  MD5checksum: string;
}

interface Manifest {
  sourceBucket: string;
  destinationBucket: string;
  version: string;
  creationTimestamp: string;
  fileFormat: ReportFormat;
  fileSchema: string;
  files: ManifestFile[];
}

async function readText(session: Session, bucket: string, key: string): Promise<string> {
  const res = await s3(session).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (res.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  return res.Body.transformToString();
}

function parseManifest(text: string, key: string): Manifest {
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(text) as Partial<Manifest>;
  } catch (err) {
    throw new Error(`${key} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof m !== "object" || m === null || !Array.isArray(m.files) || typeof m.fileFormat !== "string") {
    throw new Error(`${key} is not an inventory manifest (no files or fileFormat)`);
  }
  return m as Manifest;
}

/** manifest.checksum beside manifest.json: its text, or undefined where there is none. */
async function readChecksum(session: Session, bucket: string, checksumKey: string): Promise<string | undefined> {
  try {
    return (await readText(session, bucket, checksumKey)).trim();
  } catch (err) {
    if (err instanceof Error && err.name === "NoSuchKey") return undefined;
    throw err;
  }
}

/** Reads by ranged GetObject, so a preview fetches only the parts of a file it needs. */
function objectBytes(session: Session, bucket: string, key: string, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      if (length <= 0) return new Uint8Array(0);
      const res = await s3(session).send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }));
      if (res.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
      const bytes = await res.Body.transformToByteArray();
      // Whole (a server that ignores Range answers 200 with all of it): the range is cut from it.
      return res.ContentRange === undefined && bytes.length > length ? bytes.subarray(offset, offset + length) : bytes;
    },
  };
}

/** creationTimestamp is epoch milliseconds as a string ("1748826000000"). */
function creationTime(ts: string): string {
  const ms = Number(ts);
  return Number.isFinite(ms) && ts.trim() !== "" ? formatTime(new Date(ms).toISOString()) : ts;
}

function folderOf(key: string): string {
  return key.slice(0, key.lastIndexOf("/") + 1);
}

export function Report({ session, route }: PageProps<"report">) {
  // A page of its own per report: nothing of the last one (its manifest, its preview) shows under the next one's name.
  return <ReportOf key={`${route.bucket}/${route.key}`} session={session} bucket={route.bucket} manifestKey={route.key} />;
}

function ReportOf({ session, bucket, manifestKey: key }: { session: Session; bucket: string; manifestKey: string }) {
  const checksumKey = folderOf(key) + "manifest.checksum";
  const manifest = useLoad(async () => parseManifest(await readText(session, bucket, key), key), [session, bucket, key]);
  const checksum = useLoad(() => readChecksum(session, bucket, checksumKey), [session, bucket, checksumKey]);
  const [downloadError, setDownloadError] = useState<string>();
  // Downloaded as a file, as the objects page does, so no object is ever opened in the console's origin.
  const download = (objectKey: string) => {
    setDownloadError(undefined);
    downloadObject(s3(session), bucket, objectKey).catch((err: unknown) => setDownloadError(describeError(err)));
  };
  const [previewKey, setPreviewKey] = useState<string>();
  const m = manifest.data;
  const total = m?.files.reduce((n, f) => n + f.size, 0) ?? 0;
  const previewed = m?.files.find((f) => f.key === previewKey);

  return (
    <>
      <header class="bucket-header">
        <h1>
          <a href={formatRoute({ page: "buckets" })}>Buckets</a> / <a href={formatRoute({ page: "objects", bucket, prefix: folderOf(key), versions: false })}>{bucket}</a> /{" "}
          <span data-testid="report-key">{key}</span>
        </h1>
      </header>
      <ErrorBanner error={manifest.error} />
      <Loading when={manifest.loading && m === undefined} />
      {m && (
        <>
          <table class="kv" data-testid="manifest">
            <tbody>
              <Field name="sourceBucket" label="Source bucket">
                <a href={formatRoute({ page: "runs", bucket: m.sourceBucket })}>{m.sourceBucket}</a>
              </Field>
              <Field name="destinationBucket" label="Destination bucket">
                {m.destinationBucket}
              </Field>
              <Field name="version" label="Version">
                {m.version}
              </Field>
              <Field name="creationTimestamp" label="Created">
                {creationTime(m.creationTimestamp)} <span class="muted">({m.creationTimestamp})</span>
              </Field>
              <Field name="fileFormat" label="File format">
                {m.fileFormat}
              </Field>
              <Field name="fileSchema" label="File schema">
                <code class="schema">{m.fileSchema}</code>
              </Field>
              <Field name="manifest" label="Manifest">
                <button type="button" class="link" data-testid="manifest-download" onClick={() => download(key)}>
                  manifest.json
                </button>
                {" · "}
                <ChecksumLink checksum={checksum.data} loading={checksum.loading} onDownload={() => download(checksumKey)} />
              </Field>
            </tbody>
          </table>
          <ErrorBanner error={checksum.error} />
          <ErrorBanner error={downloadError} />

          <h2>
            Files <span class="muted">({formatCount(m.files.length)})</span>
          </h2>
          <table data-testid="manifest-files">
            <thead>
              <tr>
                <th>Key</th>
                <th class="num">Size</th>
                <th>MD5 checksum</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {m.files.map((f) => (
                <tr key={f.key} data-testid="manifest-file-row" data-key={f.key} data-size={f.size} class={f.key === previewKey ? "highlight" : undefined}>
                  <td class="mono">{f.key}</td>
                  <td class="num" title={`${formatCount(f.size)} bytes`}>
                    {formatBytes(f.size)}
                  </td>
                  <td class="mono">{f.MD5checksum}</td>
                  <td>
                    <button type="button" data-testid="preview-button" onClick={() => setPreviewKey(f.key === previewKey ? undefined : f.key)}>
                      {f.key === previewKey ? "Close preview" : "Preview"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th>Total</th>
                <th class="num" data-testid="manifest-total-size" data-bytes={total} title={`${formatCount(total)} bytes`}>
                  {formatBytes(total)}
                </th>
                <th colSpan={2} />
              </tr>
            </tfoot>
          </table>
          {previewed && <FilePreview key={previewed.key} session={session} bucket={bucket} file={previewed} format={m.fileFormat} fileSchema={m.fileSchema} />}
        </>
      )}
    </>
  );
}

function Field({ name, label, children }: { name: string; label: string; children: ComponentChildren }) {
  return (
    <tr data-testid="manifest-field" data-field={name}>
      <th>{label}</th>
      <td>{children}</td>
    </tr>
  );
}

function ChecksumLink({ checksum, loading, onDownload }: { checksum: string | undefined; loading: boolean; onDownload: () => void }) {
  if (loading) return <span class="muted">manifest.checksum…</span>;
  if (checksum === undefined) return <span class="muted">no manifest.checksum</span>;
  return (
    <>
      <button type="button" class="link" data-testid="checksum-download" onClick={onDownload}>
        manifest.checksum
      </button>{" "}
      <code data-testid="manifest-checksum">{checksum}</code>
    </>
  );
}

function FilePreview({ session, bucket, file, format, fileSchema }: { session: Session; bucket: string; file: ManifestFile; format: ReportFormat; fileSchema: string }) {
  const preview = useLoad(() => readPreview(format, objectBytes(session, bucket, file.key, file.size), fileSchema, PREVIEW_ROWS), [session, bucket, file.key, format, fileSchema]);
  return (
    <section class="preview" data-testid="preview">
      <h2>
        Preview of <span class="mono">{file.key}</span>
      </h2>
      <ErrorBanner error={preview.error} />
      <Loading when={preview.loading} />
      {preview.data && <PreviewTable preview={preview.data} />}
    </section>
  );
}

function PreviewTable({ preview }: { preview: TablePreview }) {
  const { columns, rows, totalRows } = preview;
  return (
    <>
      <p class="muted">
        First {formatCount(rows.length)} rows
        {totalRows === undefined ? (
          " (the file's row count is not recorded in CSV files)"
        ) : (
          <>
            {" of "}
            <span data-testid="preview-total-rows" data-total-rows={totalRows}>
              {formatCount(totalRows)}
            </span>
            {" in this file"}
          </>
        )}
      </p>
      <div class="table-scroll">
        <table class="preview-table" data-testid="preview-table">
          <thead>
            <tr>
              {columns.map((c, j) => (
                <th key={j} title={c.type}>
                  {c.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i} data-testid="preview-row">
                {columns.map((_c, j) => {
                  const text = cellText(row[j]);
                  return <td key={j} title={text ?? undefined}>{text === null ? <span class="muted">null</span> : text}</td>;
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
