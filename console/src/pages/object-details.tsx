// One object's (or version's) details under its row on the objects page: what HeadObject and
// GetObjectTagging answer, read when the row is opened. Each read is a signed request like any
// other, so a caller allowed to list but not to read sees the refusal in place of the details.
import { GetObjectTaggingCommand, HeadObjectCommand, type HeadObjectCommandOutput, type S3Client, type Tag } from "@aws-sdk/client-s3";
import { formatTime } from "../format";
import { describeError } from "../s3";
import { useLoad } from "../ui";

interface Details {
  head: HeadObjectCommandOutput;
  /** The object's tags, or why they could not be read (a caller may HEAD but not read tags). */
  tags: Tag[] | string;
}

async function loadDetails(client: S3Client, bucket: string, key: string, versionId: string | undefined): Promise<Details> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, ChecksumMode: "ENABLED" }));
  const tags = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId })).then(
    (t) => t.TagSet ?? [],
    (err: unknown) => describeError(err),
  );
  return { head, tags };
}

/** [label, value] pairs of what is set; what an object lacks is left out rather than shown empty. */
function fields({ head }: Details): [string, string][] {
  const checksum = [
    ["CRC64NVME", head.ChecksumCRC64NVME],
    ["CRC32", head.ChecksumCRC32],
    ["CRC32C", head.ChecksumCRC32C],
    ["SHA1", head.ChecksumSHA1],
    ["SHA256", head.ChecksumSHA256],
  ].find(([, value]) => value !== undefined);
  const encryption = head.ServerSideEncryption === undefined ? undefined : head.SSEKMSKeyId ? `${head.ServerSideEncryption} (${head.SSEKMSKeyId})` : head.ServerSideEncryption;
  const lock = head.ObjectLockMode === undefined ? undefined : `${head.ObjectLockMode} until ${formatTime(head.ObjectLockRetainUntilDate?.toISOString())}`;
  const all: [string, string | undefined][] = [
    ["ETag", head.ETag],
    ["Content type", head.ContentType],
    ["Content encoding", head.ContentEncoding],
    ["Cache control", head.CacheControl],
    ["Content disposition", head.ContentDisposition],
    ["Encryption", encryption ?? (head.SSECustomerAlgorithm ? `SSE-C (${head.SSECustomerAlgorithm})` : undefined)],
    ["Checksum", checksum ? `${checksum[0]} ${checksum[1]} (${head.ChecksumType ?? "FULL_OBJECT"})` : undefined],
    ["Object Lock retention", lock],
    ["Legal hold", head.ObjectLockLegalHoldStatus],
    ["Replication", head.ReplicationStatus],
    ["Restore", head.Restore],
    ["Expiration", head.Expiration],
  ];
  return all.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== "");
}

export function ObjectDetails({ client, bucket, objectKey, versionId, columns }: { client: S3Client; bucket: string; objectKey: string; versionId?: string; columns: number }) {
  const details = useLoad(() => loadDetails(client, bucket, objectKey, versionId), [client, bucket, objectKey, versionId]);
  const metadata = Object.entries(details.data?.head.Metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const tags = details.data?.tags;
  return (
    <tr class="details" data-testid="object-details">
      <td colSpan={columns}>
        {details.loading && details.data === undefined && <span class="muted">Loading…</span>}
        {details.error && (
          <span class="error" data-testid="details-error">
            {details.error}
          </span>
        )}
        {details.data && (
          <dl class="details">
            {fields(details.data).map(([label, value]) => (
              <div key={label} data-testid="detail" data-label={label}>
                <dt>{label}</dt>
                <dd class="key-name">{value}</dd>
              </div>
            ))}
            <div data-testid="detail" data-label="Metadata">
              <dt>Metadata</dt>
              <dd class="key-name">{metadata.length === 0 ? <span class="muted">none</span> : metadata.map(([k, v]) => `${k}: ${v}`).join("\n")}</dd>
            </div>
            <div data-testid="detail" data-label="Tags">
              <dt>Tags</dt>
              <dd class="key-name">
                {typeof tags === "string" ? <span class="error">{tags}</span> : tags!.length === 0 ? <span class="muted">none</span> : tags!.map((t) => `${t.Key} = ${t.Value}`).join("\n")}
              </dd>
            </div>
          </dl>
        )}
      </td>
    </tr>
  );
}
