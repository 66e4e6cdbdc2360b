// The ORC report writer (S3 Inventory's ORC format: ZLIB-compressed ORC v1 files whose struct
// schema is the report's columns), written from the Apache ORC specification. See docs/orc-writer.md.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html#storage-inventory-contents
import type { ReportWriterFactory } from "../types.js";
import { createOrcWriterWith } from "./writer.js";

export { createOrcWriterWith, type OrcWriterOptions } from "./writer.js";

/** ZLIB-compressed ORC with the default stripe size, as S3 delivers ORC reports; `inline`: see OrcWriterOptions. */
export function orcWriterFactory(opts: { inline?: boolean } = {}): ReportWriterFactory {
  return ({ columns, sink }) => createOrcWriterWith({ columns, sink, inline: opts.inline });
}

export const createOrcWriter: ReportWriterFactory = orcWriterFactory();
