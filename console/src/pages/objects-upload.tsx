// Uploading files into the prefix being browsed. lib-storage's Upload sends a small file as one
// PutObject and a large one as a multipart upload, so any size goes through.
import { useState } from "preact/hooks";
import { Upload } from "@aws-sdk/lib-storage";
import type { S3Client } from "@aws-sdk/client-s3";
import { describeError } from "../s3";
import { formatBytes } from "../format";

interface UploadState {
  id: number;
  key: string;
  total: number;
  loaded: number;
  status: "queued" | "uploading" | "done" | "failed";
  error?: string;
}

// Files upload a few at a time; each multipart upload also sends its parts in parallel.
const FILES_AT_ONCE = 3;
let nextId = 0;

export function UploadFiles({ client, bucket, prefix, onUploaded }: { client: S3Client; bucket: string; prefix: string; onUploaded: () => void }) {
  const [uploads, setUploads] = useState<UploadState[]>([]);
  const update = (id: number, change: Partial<UploadState>) => setUploads((all) => all.map((u) => (u.id === id ? { ...u, ...change } : u)));

  const start = async (files: File[]) => {
    const jobs = files.map((file) => ({ file, state: { id: nextId++, key: prefix + file.name, total: file.size, loaded: 0, status: "queued" as const } }));
    setUploads((all) => [...all.filter((u) => u.status === "uploading" || u.status === "queued"), ...jobs.map((j) => j.state)]);
    const queue = [...jobs];
    const worker = async () => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        const { file, state } = job;
        update(state.id, { status: "uploading" });
        try {
          const upload = new Upload({
            client,
            params: { Bucket: bucket, Key: state.key, Body: file, ContentType: file.type || undefined },
          });
          upload.on("httpUploadProgress", (p) => update(state.id, { loaded: p.loaded ?? 0 }));
          await upload.done();
          update(state.id, { status: "done", loaded: file.size });
        } catch (err) {
          update(state.id, { status: "failed", error: describeError(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FILES_AT_ONCE, jobs.length) }, worker));
    onUploaded();
  };

  return (
    <div class="upload">
      <label class="toolbar">
        Upload into <code class="key-name">{prefix === "" ? "/" : prefix}</code>
        <input
          type="file"
          multiple
          data-testid="upload-input"
          onChange={(e) => {
            const input = e.currentTarget;
            const files = Array.from(input.files ?? []);
            // Cleared so choosing the same file again uploads it again.
            input.value = "";
            if (files.length > 0) void start(files);
          }}
        />
      </label>
      {uploads.length > 0 && (
        <table data-testid="upload-table">
          <tbody>
            {uploads.map((u) => (
              <tr key={u.id} data-testid="upload-row" data-key={u.key} data-status={u.status}>
                <td class="key-name">{u.key}</td>
                <td>
                  <progress max={u.total || 1} value={u.status === "done" ? u.total || 1 : u.loaded} />
                </td>
                <td class="num">
                  {formatBytes(u.loaded)} / {formatBytes(u.total)}
                </td>
                <td data-testid="upload-status" class={u.status === "failed" ? "bad" : u.status === "done" ? "ok" : "muted"}>
                  {u.status === "failed" ? `Failed: ${u.error}` : u.status}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
