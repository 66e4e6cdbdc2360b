// GetObjectAttributes: an object's ETag, checksum, parts, storage class and size without its body.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
import { S3Error } from "../errors.js";
import type { Handler } from "./types.js";
import { addressedVersion, isVersioned } from "./request.js";
import { httpDate, storedChecksum } from "./object-headers.js";
import { readKeys } from "./encryption.js";

const ATTRIBUTES = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"] as const;
type Attribute = (typeof ATTRIBUTES)[number];

export const getObjectAttributes: Handler = async (req, ctx) => {
  const raw = req.headers["x-amz-object-attributes"];
  const requested = (Array.isArray(raw) ? raw.join(",") : (raw ?? ""))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (requested.length === 0) throw new S3Error("InvalidArgument", "Invalid attribute name specified.", { ArgumentName: "x-amz-object-attributes" });
  for (const name of requested) {
    if (!(ATTRIBUTES as readonly string[]).includes(name)) {
      throw new S3Error("InvalidArgument", "Invalid attribute name specified.", { ArgumentName: "x-amz-object-attributes", ArgumentValue: name });
    }
  }
  const want = (a: Attribute) => requested.includes(a);
  const v = await addressedVersion(req, ctx);
  // S3's reference requires an SSE-C object's key here too, though no byte of the body is read.
  await readKeys(req, ctx, v.extra);
  const sum = storedChecksum(v);
  // A multipart object's body lists its parts with their sizes and checksums.
  const storedParts = v.body?.kind === "parts" ? v.body.parts : [];
  let objectParts: Record<string, unknown> | undefined;
  if (want("ObjectParts") && v.partsCount > 0) {
    const maxParts = Math.min(1000, Number(req.headers["x-amz-max-parts"] ?? 1000) || 1000);
    const marker = Number(req.headers["x-amz-part-number-marker"] ?? 0) || 0;
    const after = storedParts.filter((p) => p.partNumber > marker);
    const page = after.slice(0, maxParts);
    objectParts = {
      // The wire name of the TotalPartsCount member is PartsCount.
      PartsCount: v.partsCount,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length ? page[page.length - 1]!.partNumber : marker,
      MaxParts: maxParts,
      IsTruncated: after.length > page.length,
      Part: page.map((p) => ({
        PartNumber: p.partNumber,
        Size: p.size,
        ...(sum && p.checksum ? { ["Checksum" + sum.algorithm]: p.checksum } : {}),
      })),
    };
  }
  return {
    headers: {
      "Last-Modified": httpDate(v.lastModified),
      "x-amz-version-id": isVersioned(req.bucketRecord!) ? v.versionId : undefined,
    },
    xml: {
      root: "GetObjectAttributesResponse",
      value: {
        ETag: want("ETag") ? v.etag.replace(/"/g, "") : undefined,
        Checksum: want("Checksum") && sum ? { ["Checksum" + sum.algorithm]: sum.value, ChecksumType: sum.type } : undefined,
        ObjectParts: objectParts,
        StorageClass: want("StorageClass") ? v.storageClass : undefined,
        ObjectSize: want("ObjectSize") ? v.size : undefined,
      },
    },
  };
};
