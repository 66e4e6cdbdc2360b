// One page of a bucket's listing under a prefix, as the objects page shows it: folders (common
// prefixes) and entries, either current objects (ListObjectsV2) or every version and delete
// marker (ListObjectVersions), with the cursor for the next page.
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

export interface Entry {
  key: string;
  /** Only in versions mode. */
  versionId?: string;
  isLatest?: boolean;
  deleteMarker: boolean;
  size?: number;
  lastModified?: Date;
  storageClass?: string;
}

export type Cursor = { token: string } | { keyMarker: string; versionIdMarker?: string };

export interface ListingPage {
  folders: string[];
  entries: Entry[];
  next?: Cursor;
}

export async function listPage(client: S3Client, bucket: string, prefix: string, versions: boolean, cursor?: Cursor): Promise<ListingPage> {
  if (!versions) {
    const res = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        Delimiter: "/",
        ContinuationToken: cursor && "token" in cursor ? cursor.token : undefined,
      }),
    );
    return {
      folders: (res.CommonPrefixes ?? []).map((p) => p.Prefix ?? ""),
      entries: (res.Contents ?? []).map((o) => ({
        key: o.Key ?? "",
        deleteMarker: false,
        size: o.Size,
        lastModified: o.LastModified,
        storageClass: o.StorageClass,
      })),
      next: res.IsTruncated && res.NextContinuationToken ? { token: res.NextContinuationToken } : undefined,
    };
  }
  const res = await client.send(
    new ListObjectVersionsCommand({
      Bucket: bucket,
      Prefix: prefix,
      Delimiter: "/",
      KeyMarker: cursor && "keyMarker" in cursor ? cursor.keyMarker : undefined,
      VersionIdMarker: cursor && "keyMarker" in cursor ? cursor.versionIdMarker : undefined,
    }),
  );
  const entries: Entry[] = [
    ...(res.Versions ?? []).map((v) => ({
      key: v.Key ?? "",
      versionId: v.VersionId,
      isLatest: v.IsLatest,
      deleteMarker: false,
      size: v.Size,
      lastModified: v.LastModified,
      storageClass: v.StorageClass,
    })),
    ...(res.DeleteMarkers ?? []).map((m) => ({
      key: m.Key ?? "",
      versionId: m.VersionId,
      isLatest: m.IsLatest,
      deleteMarker: true,
      lastModified: m.LastModified,
    })),
  ];
  // The SDK splits S3's single ordered list into versions and markers; put it back together:
  // by key, then newest first, as S3 lists them.
  entries.sort((a, b) => compareKeys(a.key, b.key) || (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0));
  return {
    folders: (res.CommonPrefixes ?? []).map((p) => p.Prefix ?? ""),
    entries,
    next: res.IsTruncated && res.NextKeyMarker !== undefined ? { keyMarker: res.NextKeyMarker, versionIdMarker: res.NextVersionIdMarker } : undefined,
  };
}

const utf8 = new TextEncoder();

/** S3 orders keys by their UTF-8 bytes, which differs from JavaScript's UTF-16 order past U+FFFF. */
function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * Saves an object (or one version of it) as a file. The browser fetches it itself, from a URL
 * presigned for a minute that asks for the body as an attachment of no particular type, so it
 * streams to disk whatever its size and the console never navigates to or renders object content,
 * which, coming from this origin, could otherwise run as part of the console. A HEAD first, so a
 * refusal shows in the console rather than as a failed download.
 */
export async function downloadObject(client: S3Client, bucket: string, key: string, versionId?: string): Promise<void> {
  await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  const name = key.split("/").filter((p) => p !== "").pop() ?? "download";
  const url = await getSignedUrl(
    client,
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      VersionId: versionId,
      ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
      ResponseContentType: "application/octet-stream",
    }),
    { expiresIn: 60 },
  );
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
}
