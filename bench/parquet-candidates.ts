// Measures the Parquet writers we considered for inventory reports (docs/parquet-writer.md): the
// same inventory-like rows (~220 bytes, 10 columns as a typical configuration has them) through
// each, rows/s, peak RSS, file size, and whether the bytes reach the sink while rows still arrive.
// Each candidate runs in its own child process so peak RSS is its own.
//
// The libraries are not dependencies of Stocktake; install them beside the checkout and point the
// script at them:
//   mkdir -p /tmp/pqcand && cd /tmp/pqcand && npm init -y && \
//     npm install parquet-wasm apache-arrow hyparquet-writer @dsnp/parquetjs @duckdb/node-api
//   node --import tsx bench/parquet-candidates.ts --modules /tmp/pqcand --rows 1000000
// Without --modules only Stocktake's own writer runs. Not part of npm test.
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { once } from "node:events";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { reportColumns } from "../src/inventory/fields.js";
import { createParquetWriter } from "../src/inventory/writers/parquet.js";
import type { InventoryValue } from "../src/inventory/writers/types.js";

const COLUMNS = reportColumns("Current", ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "EncryptionStatus", "ChecksumAlgorithm", "ObjectOwner"]);
const BATCH = 2000; // as the run's scan hands rows to a writer
const ROW_GROUP = 100_000;
const CANDIDATES = ["stocktake", "hyparquet-writer", "parquet-wasm", "@dsnp/parquetjs", "duckdb-appender", "duckdb-csv"] as const;
type Candidate = (typeof CANDIDATES)[number];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Deterministic inventory-like rows, in key order, in batches. */
function* batches(total: number): Generator<InventoryValue[][]> {
  const owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
  const classes = ["STANDARD", "STANDARD", "STANDARD", "STANDARD_IA", "GLACIER"];
  for (let start = 0; start < total; start += BATCH) {
    const rows: InventoryValue[][] = [];
    for (let i = start; i < Math.min(start + BATCH, total); i++) {
      const h = (Math.imul(i, 2654435761) >>> 0).toString(16).padStart(8, "0");
      rows.push([
        "inventory-bench-bucket",
        `data/2026/${String(Math.floor(i / 1000)).padStart(6, "0")}/${h}-${i}.json`,
        (i * 7919) % 10_000_000,
        1_767_225_600_000 + i * 1000,
        `${h}${h}${h}${h}`,
        classes[i % classes.length]!,
        i % 50 === 0,
        "SSE-S3",
        i % 3 === 0 ? null : "CRC32",
        owner,
      ]);
    }
    yield rows;
  }
}

type Sink = (chunk: Uint8Array) => Promise<void>;

function fileSink(path: string): { sink: Sink; close: () => Promise<void> } {
  const out = createWriteStream(path);
  return {
    sink: async (chunk) => {
      if (!out.write(chunk)) await once(out, "drain");
    },
    close: async () => {
      out.end();
      await once(out, "finish");
    },
  };
}

/** Runs one candidate; returns whether bytes reached the file before the last row was handed over. */
async function runCandidate(name: Candidate, rows: number, file: string, modules: string | undefined): Promise<boolean> {
  const req = modules ? createRequire(join(modules, "package.json")) : undefined;
  const load = async (pkg: string): Promise<any> => import(pathToFileURL(req!.resolve(pkg)).href);
  let bytesBeforeLastRow = 0;
  let sent = 0;
  const { sink: fsink, close } = fileSink(file);
  const sink: Sink = async (c) => {
    sent += c.length;
    await fsink(c);
  };

  switch (name) {
    case "stocktake": {
      const w = createParquetWriter({ columns: COLUMNS, sink: (c) => sink(c) });
      for (const b of batches(rows)) await w.writeRows(b);
      bytesBeforeLastRow = sent;
      await w.finish();
      break;
    }
    case "hyparquet-writer": {
      const hw = await load("hyparquet-writer");
      const writer = new hw.ByteWriter(1 << 20);
      writer.flush = async () => {
        await sink(new Uint8Array(writer.buffer, 0, writer.index).slice());
        writer.index = 0;
      };
      const schema = [
        { name: "s3.inventory", num_children: COLUMNS.length },
        ...COLUMNS.map((c) => ({
          name: c.column,
          type: c.kind === "string" ? "BYTE_ARRAY" : c.kind === "boolean" ? "BOOLEAN" : "INT64",
          repetition_type: c.role === "always" ? "REQUIRED" : "OPTIONAL",
          ...(c.kind === "string" ? { converted_type: "UTF8" } : c.kind === "timestamp" ? { converted_type: "TIMESTAMP_MILLIS" } : {}),
        })),
      ];
      const pw = new hw.ParquetWriter({ writer, schema, codec: "SNAPPY" });
      let group: InventoryValue[][] = [];
      const flushGroup = async () => {
        const columnData = COLUMNS.map((c, i) => ({
          name: c.column,
          data: group.map((r) => (r[i] === null ? null : c.kind === "int64" || c.kind === "timestamp" ? BigInt(r[i] as number) : r[i])),
        }));
        await pw.write({ columnData, rowGroupSize: ROW_GROUP });
        await writer.flush();
        group = [];
      };
      for (const b of batches(rows)) {
        for (const r of b) group.push(r);
        if (group.length >= ROW_GROUP) await flushGroup();
      }
      if (group.length) await flushGroup();
      bytesBeforeLastRow = sent;
      await pw.finish();
      await writer.flush();
      break;
    }
    case "parquet-wasm": {
      const arrow = await load("apache-arrow");
      const pqw = await load("parquet-wasm");
      const types: Record<string, () => unknown> = {
        string: () => new arrow.Utf8(),
        boolean: () => new arrow.Bool(),
        int64: () => new arrow.Int64(),
        timestamp: () => new arrow.TimestampMillisecond("UTC"),
      };
      const gen = batches(rows);
      let group: InventoryValue[][] = [];
      let done = false;
      const toBatch = () => {
        const vectors: Record<string, unknown> = {};
        COLUMNS.forEach((c, i) => {
          const values = group.map((r) => (r[i] === null ? null : c.kind === "int64" ? BigInt(r[i] as number) : r[i]));
          vectors[c.column] = arrow.vectorFromArray(values, types[c.kind]!());
        });
        const ipc = arrow.tableToIPC(new arrow.Table(vectors), "stream");
        group = [];
        return pqw.Table.fromIPCStream(ipc).recordBatches();
      };
      const input = new ReadableStream({
        pull(controller) {
          while (!done && group.length < ROW_GROUP) {
            const next = gen.next();
            if (next.done) done = true;
            else group.push(...next.value);
          }
          if (group.length) for (const rb of toBatch()) controller.enqueue(rb);
          if (done && group.length === 0) controller.close();
        },
      });
      const props = new pqw.WriterPropertiesBuilder().setCompression(pqw.Compression.SNAPPY).setMaxRowGroupSize(ROW_GROUP).build();
      const output: ReadableStream<Uint8Array> = await pqw.transformParquetStream(input, props);
      for await (const chunk of output as unknown as AsyncIterable<Uint8Array>) {
        if (!done) bytesBeforeLastRow += chunk.length;
        await sink(chunk);
      }
      break;
    }
    case "@dsnp/parquetjs": {
      const pq = await load("@dsnp/parquetjs");
      const fields: Record<string, unknown> = {};
      for (const c of COLUMNS) {
        const type = c.kind === "string" ? "UTF8" : c.kind === "boolean" ? "BOOLEAN" : c.kind === "int64" ? "INT64" : "TIMESTAMP_MILLIS";
        fields[c.column] = { type, optional: c.role !== "always", compression: "SNAPPY" };
      }
      const schema = new pq.ParquetSchema(fields);
      const stream = {
        write: (buf: Buffer, cb: (err?: Error) => void) => {
          sink(buf).then(() => cb(), cb);
          return true;
        },
        end: (cb: () => void) => cb(),
      };
      const w = await pq.ParquetWriter.openStream(schema, stream, { rowGroupSize: ROW_GROUP });
      for (const b of batches(rows)) {
        for (const r of b) {
          const obj: Record<string, unknown> = {};
          COLUMNS.forEach((c, i) => {
            const v = r[i];
            if (v !== null) obj[c.column] = c.kind === "timestamp" ? new Date(v as number) : c.kind === "int64" ? BigInt(v as number) : v;
          });
          await w.appendRow(obj);
        }
      }
      bytesBeforeLastRow = sent;
      await w.close();
      break;
    }
    case "duckdb-appender": {
      const duck = await load("@duckdb/node-api");
      const instance = await duck.DuckDBInstance.create(":memory:", { threads: "2" });
      const conn = await instance.connect();
      const ddl = COLUMNS.map((c) => `${c.column} ${c.kind === "string" ? "VARCHAR" : c.kind === "boolean" ? "BOOLEAN" : c.kind === "int64" ? "BIGINT" : "TIMESTAMP_MS"}${c.role === "always" ? " NOT NULL" : ""}`);
      await conn.run(`CREATE TABLE inv (${ddl.join(", ")})`);
      const app = await conn.createAppender("inv");
      for (const b of batches(rows)) {
        for (const r of b) {
          COLUMNS.forEach((c, i) => {
            const v = r[i];
            if (v === null) app.appendNull();
            else if (c.kind === "string") app.appendVarchar(v as string);
            else if (c.kind === "boolean") app.appendBoolean(v as boolean);
            else if (c.kind === "int64") app.appendBigInt(BigInt(v as number));
            else app.appendTimestampMilliseconds(new duck.DuckDBTimestampMillisecondsValue(BigInt(v as number)));
          });
          app.endRow();
        }
      }
      app.flushSync();
      app.closeSync();
      await conn.run(`COPY inv TO '${file}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${ROW_GROUP})`);
      conn.closeSync();
      break;
    }
    case "duckdb-csv": {
      // Rows as plain CSV in a temporary file first, then DuckDB converts the file in one statement.
      const duck = await load("@duckdb/node-api");
      const csv = `${file}.csv`;
      const { sink: csvSink, close: csvClose } = fileSink(csv);
      const quote = (v: InventoryValue, kind: string) =>
        v === null ? "" : kind === "string" ? `"${(v as string).replace(/"/g, '""')}"` : kind === "timestamp" ? new Date(v as number).toISOString() : String(v);
      for (const b of batches(rows)) {
        let text = "";
        for (const r of b) text += r.map((v, i) => quote(v, COLUMNS[i]!.kind)).join(",") + "\n";
        await csvSink(Buffer.from(text));
      }
      await csvClose();
      const types = COLUMNS.map((c) => `'${c.column}': '${c.kind === "string" ? "VARCHAR" : c.kind === "boolean" ? "BOOLEAN" : c.kind === "int64" ? "BIGINT" : "TIMESTAMP_MS"}'`);
      const instance = await duck.DuckDBInstance.create(":memory:", { threads: "2" });
      const conn = await instance.connect();
      await conn.run(
        `COPY (SELECT * FROM read_csv('${csv}', header = false, columns = {${types.join(", ")}})) TO '${file}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${ROW_GROUP})`,
      );
      conn.closeSync();
      rmSync(csv, { force: true });
      break;
    }
  }
  await close();
  return bytesBeforeLastRow > 0;
}

interface Result {
  name: Candidate;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  peakRssMB: number;
  fileBytes: number;
  streams: boolean;
  readBack?: string;
}

async function child(name: Candidate, rows: number, file: string, modules: string | undefined): Promise<void> {
  const t0 = performance.now();
  const streams = await runCandidate(name, rows, file, modules);
  const seconds = (performance.now() - t0) / 1000;
  const result: Result = {
    name,
    rows,
    seconds,
    rowsPerSec: Math.round(rows / seconds),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    fileBytes: statSync(file).size,
    streams,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

function runChild(name: Candidate, rows: number, file: string, modules: string | undefined): Promise<Result | string> {
  const self = fileURLToPath(import.meta.url);
  const args = ["--import", "tsx", self, "--child", name, "--rows", String(rows), "--file", file, ...(modules ? ["--modules", modules] : [])];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      resolve(code === 0 && line.startsWith("{") ? (JSON.parse(line) as Result) : `exit ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`);
    });
  });
}

/** pyarrow reads the file: row count and the physical types, as a check that the writer's output is sound. */
function readBack(file: string): Promise<string> {
  const script = `import pyarrow.parquet as pq; f = pq.ParquetFile('${file}'); m = f.metadata; print(m.num_rows, m.num_row_groups, m.row_group(0).column(0).compression if m.num_row_groups else '-')`;
  return new Promise((resolve) => {
    const p = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("close", (code) => resolve(code === 0 ? out.trim() : "unreadable"));
  });
}

const childName = arg("child") as Candidate | undefined;
const rows = Number(arg("rows") ?? 1_000_000);
const modules = arg("modules");
if (childName) {
  await child(childName, rows, arg("file")!, modules);
} else {
  const only = arg("only")?.split(",");
  const names = CANDIDATES.filter((c) => (only ? only.includes(c) : modules || c === "stocktake"));
  const dir = mkdtempSync(join(tmpdir(), "parquet-candidates-"));
  const table = ["| writer | rows/s | peak RSS (MB) | file (MB) | streams to the sink | pyarrow reads (rows, row groups, codec) |", "| --- | ---: | ---: | ---: | --- | --- |"];
  try {
    for (const name of names) {
      const file = join(dir, `${name.replace(/[@/]/g, "_")}.parquet`);
      process.stderr.write(`${name}: ${rows} rows… `);
      const r = await runChild(name, rows, file, modules);
      if (typeof r === "string") {
        process.stderr.write(`failed (${r})\n`);
        table.push(`| ${name} | failed | | | | ${r.slice(0, 120)} |`);
        continue;
      }
      r.readBack = await readBack(file);
      process.stderr.write(`${r.rowsPerSec} rows/s\n`);
      table.push(`| ${name} | ${r.rowsPerSec.toLocaleString("en-US")} | ${r.peakRssMB} | ${(r.fileBytes / 1e6).toFixed(1)} | ${r.streams ? "yes" : "no"} | ${r.readBack} |`);
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${rows.toLocaleString("en-US")} rows, columns: ${COLUMNS.map((c) => c.column).join(", ")}`);
  console.log(table.join("\n"));
}
