#!/usr/bin/env node
// The `stocktake` command: `serve` runs the server; `accounts create` adds an account and keys and
// `kms create-key` / `kms list-keys` manage the local key service's keys for SSE-KMS, also while a
// server runs on the same data directory; `inventory run` / `inventory runs` ask a running server
// for reports on demand. Every flag has an equal STOCKTAKE_* environment variable; a flag wins
// over the environment.
import { Command, Option } from "commander";
import { mkdirSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { defaultConfig } from "./config.js";
import { startServer } from "./server/index.js";
import { openMetadataStore, redactMetadataUrl } from "./storage/open-metadata.js";
import type { AccessKeyRecord, MetadataStore } from "./storage/types.js";
import { createAccount, loadSealingKey } from "./auth/accounts.js";
import { listInventoryRuns, runInventoryNow } from "./cli/inventory.js";
import { DEFAULT_ENDPOINT, resolveClientOptions } from "./cli/aws-config.js";
import { duration, formatTable, size, utcTime } from "./cli/table.js";
import { KeyService, loadMasterKey } from "./crypto/kms.js";
import { parseByteSize } from "./storage/disk-space.js";
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.js";

/** A yes/no environment variable: "true" or "1" is yes, unset, empty, "false" or "0" no. */
function envSwitch(name: string): boolean {
  const value = process.env[name]?.trim().toLowerCase() ?? "";
  if (value === "true" || value === "1") return true;
  if (value === "" || value === "false" || value === "0") return false;
  throw new Error(`invalid ${name}: ${value} (true or false)`);
}

const program = new Command();
program
  .name("stocktake")
  .description("An S3-compatible object storage server with S3 Inventory reports.")
  .version("0.1.0");

const masterKeyOption = () =>
  new Option("--master-key <key>", "the 32-byte master key for server-side encryption, base64 or hex (default: <data-dir>/master.key, created on first start); prefer the environment variable")
    .env("STOCKTAKE_MASTER_KEY");

const dataDirOption = () =>
  new Option("--data-dir <dir>", "where object data, keys and (without --metadata) metadata are kept").env("STOCKTAKE_DATA_DIR").default(defaultConfig.dataDir);

const metadataOption = () =>
  new Option(
    "--metadata <url>",
    "keep metadata in PostgreSQL (postgres://user:password@host:port/database) instead of SQLite under the data directory; nodes sharing the database and the data directory serve the same buckets",
  ).env("STOCKTAKE_METADATA_URL");

program
  .command("serve")
  .description("run the S3 server")
  .addOption(new Option("--host <host>", "address to listen on").env("STOCKTAKE_HOST").default(defaultConfig.host))
  .addOption(new Option("--port <port>", "port to listen on").env("STOCKTAKE_PORT").default(String(defaultConfig.port)))
  .addOption(dataDirOption())
  .addOption(metadataOption())
  .addOption(new Option("--region <region>", "the region this server answers for").env("STOCKTAKE_REGION").default(defaultConfig.region))
  .addOption(
    new Option("--base-domain <domains>", "comma-separated host names for virtual-hosted addressing (bucket.<domain>)")
      .env("STOCKTAKE_BASE_DOMAIN")
      .default(defaultConfig.baseDomains.join(",")),
  )
  .addOption(new Option("--root-access-key <key>", "root account access key id (generated when unset)").env("STOCKTAKE_ROOT_ACCESS_KEY"))
  .addOption(new Option("--root-secret-key <secret>", "root account secret key (generated when unset)").env("STOCKTAKE_ROOT_SECRET_KEY"))
  .addOption(new Option("--root-account-id <id>", "root account's 12-digit id (generated when unset)").env("STOCKTAKE_ROOT_ACCOUNT_ID"))
  .addOption(
    new Option("--inventory-time <HH:MM>", "time of day (UTC) scheduled inventory reports are due; Weekly ones on Sundays")
      .env("STOCKTAKE_INVENTORY_TIME")
      .default(defaultConfig.inventoryTime),
  )
  .addOption(
    new Option("--default-encryption <mode>", "encryption of objects written without SSE headers into a bucket without default encryption")
      .choices(["SSE-S3", "none"])
      .env("STOCKTAKE_DEFAULT_ENCRYPTION")
      .default(defaultConfig.defaultEncryption),
  )
  .addOption(masterKeyOption())
  .addOption(
    new Option("--max-connections <n>", "open connections held at most; when full, idle ones are closed to make room and the last eighth serve only signed requests; anything more is answered 503 SlowDown")
      .env("STOCKTAKE_MAX_CONNECTIONS")
      .default(String(defaultConfig.maxConnections), `half the open-file limit less 64, at most 1024: ${defaultConfig.maxConnections} here`),
  )
  .addOption(
    new Option("--min-body-rate <bytes/s>", `request bodies arriving slower than this over ${defaultConfig.bodyRateWindowMs / 1000} s are answered RequestTimeout and closed; 0 turns the check off`)
      .env("STOCKTAKE_MIN_BODY_RATE")
      .default(String(defaultConfig.minBodyBytesPerSecond)),
  )
  .addOption(
    new Option(
      "--disk-reserve <size>",
      "space kept in <data-dir>/reserve and released when the disk fills, so deletes still work and the server starts on a full disk (bytes, or with K, M, G: 64M; 0 keeps none)",
    )
      .env("STOCKTAKE_DISK_RESERVE")
      .default(`${defaultConfig.diskReserveBytes / (1024 * 1024)}M`),
  )
  .addOption(
    new Option("--access-log-flush <seconds>", "how often buffered server access log records are delivered to their target buckets")
      .env("STOCKTAKE_ACCESS_LOG_FLUSH")
      .default(String(defaultConfig.accessLogFlushIntervalMs / 1000)),
  )
  .addOption(
    new Option("--metadata-journal-interval <seconds>", "how often S3 Metadata journal tables take the latest changes (their freshness)")
      .env("STOCKTAKE_METADATA_JOURNAL_INTERVAL")
      .default(String(defaultConfig.metadataJournalIntervalMs / 1000)),
  )
  .addOption(
    new Option("--metadata-inventory-interval <seconds>", "how often S3 Metadata live inventory tables take the latest changes")
      .env("STOCKTAKE_METADATA_INVENTORY_INTERVAL")
      .default(String(defaultConfig.metadataInventoryIntervalMs / 1000)),
  )
  .addOption(
    new Option(
      "--metrics-auth <token>",
      "GET /_stocktake/metrics then requires 'Authorization: Bearer <token>' or a request signed by the root account (default: open to loopback clients only); prefer the environment variable",
    ).env("STOCKTAKE_METRICS_AUTH"),
  )
  .addOption(
    new Option("--log-format <format>", "log lines on stderr: one JSON object per line, or pretty for a terminal")
      .choices(LOG_FORMATS)
      .env("STOCKTAKE_LOG_FORMAT")
      .default("json"),
  )
  .addOption(new Option("--log-level <level>", "lines less severe than this are not written").choices(LOG_LEVELS).env("STOCKTAKE_LOG_LEVEL").default("info"))
  .addOption(
    new Option("--log-requests <bool>", "one info line per finished request (error for 5xx); false for benchmarks")
      .choices(["true", "false"])
      .env("STOCKTAKE_LOG_REQUESTS")
      .default(String(defaultConfig.logRequests)),
  )
  .addOption(
    new Option("--console <bool>", "serve the web console at /_stocktake/console/ (docs/console.md)")
      .choices(["true", "false"])
      .env("STOCKTAKE_CONSOLE")
      .default("true"),
  )
  .addOption(new Option("--tls-cert <file>", "PEM certificate (chain): with --tls-key, the port serves HTTPS; SIGHUP reads both files again").env("STOCKTAKE_TLS_CERT"))
  .addOption(new Option("--tls-key <file>", "PEM private key of --tls-cert").env("STOCKTAKE_TLS_KEY"))
  .addOption(
    new Option(
      "--allow-insecure-sse-c",
      "accept SSE-C headers over plain HTTP from loopback addresses, for development (S3 refuses them without TLS); also STOCKTAKE_ALLOW_INSECURE_SSE_C=true",
    ),
  )
  .addOption(
    new Option("--shutdown-timeout <seconds>", "on SIGTERM or SIGINT, how long requests and inventory runs in progress may take to finish before they are cut off")
      .env("STOCKTAKE_SHUTDOWN_TIMEOUT")
      .default("30"),
  )
  .action(async (opts: Record<string, string | undefined>) => {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${opts.port}`);
    const maxConnections = Number(opts.maxConnections);
    if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new Error(`invalid --max-connections: ${opts.maxConnections}`);
    const minBodyBytesPerSecond = Number(opts.minBodyRate);
    if (!Number.isInteger(minBodyBytesPerSecond) || minBodyBytesPerSecond < 0) throw new Error(`invalid --min-body-rate: ${opts.minBodyRate}`);
    const accessLogFlushSeconds = Number(opts.accessLogFlush);
    if (!Number.isFinite(accessLogFlushSeconds) || accessLogFlushSeconds <= 0) throw new Error(`invalid --access-log-flush: ${opts.accessLogFlush}`);
    const seconds = (flag: string, value: string | undefined): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`invalid ${flag}: ${value}`);
      return Math.round(n * 1000);
    };
    const shutdownSeconds = Number(opts.shutdownTimeout);
    if (!Number.isFinite(shutdownSeconds) || shutdownSeconds < 0) throw new Error(`invalid --shutdown-timeout: ${opts.shutdownTimeout}`);
    const server = await startServer({
      host: opts.host,
      port,
      dataDir: opts.dataDir,
      metadataUrl: opts.metadata === "" ? undefined : opts.metadata,
      region: opts.region,
      baseDomains: (opts.baseDomain ?? "").split(",").map((s) => s.trim()).filter(Boolean),
      rootAccessKey: opts.rootAccessKey,
      rootSecretKey: opts.rootSecretKey,
      rootAccountId: opts.rootAccountId,
      inventoryTime: opts.inventoryTime,
      defaultEncryption: opts.defaultEncryption as "SSE-S3" | "none",
      masterKey: opts.masterKey,
      diskReserveBytes: parseByteSize(opts.diskReserve ?? "0"),
      maxConnections,
      minBodyBytesPerSecond,
      accessLogFlushIntervalMs: Math.round(accessLogFlushSeconds * 1000),
      metadataJournalIntervalMs: seconds("--metadata-journal-interval", opts.metadataJournalInterval),
      metadataInventoryIntervalMs: seconds("--metadata-inventory-interval", opts.metadataInventoryInterval),
      metricsAuth: opts.metricsAuth === "" ? undefined : opts.metricsAuth,
      tlsCertFile: opts.tlsCert,
      tlsKeyFile: opts.tlsKey,
      // A boolean flag, so its variable is read here: commander would take any value, "false" too, as true.
      allowInsecureSseC: opts.allowInsecureSseC !== undefined || envSwitch("STOCKTAKE_ALLOW_INSECURE_SSE_C"),
      logRequests: opts.logRequests === "true",
      console: opts.console === "true",
      log: createLogger({ format: opts.logFormat as LogFormat, level: opts.logLevel as LogLevel }),
    });
    if (server.rootGenerated) {
      // Shown once: later starts read the keys from the data directory and never print the secret.
      process.stdout.write(
        [
          "Generated root credentials (shown only now):",
          `  account id:        ${server.root.accountId}`,
          `  access key id:     ${server.root.accessKeyId}`,
          `  secret access key: ${server.root.secretAccessKey}`,
          "",
        ].join("\n"),
      );
    }
    const metadataPlace = opts.metadata ? `, metadata in ${redactMetadataUrl(opts.metadata)}` : "";
    process.stdout.write(`Stocktake listening on ${server.url} (region ${opts.region}, data in ${opts.dataDir}${metadataPlace})\n`);
    if (opts.console === "true") process.stdout.write(`Console: ${server.url}/_stocktake/console/\n`);
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // The operator does not want to wait: nothing is flushed, as after a crash, which the next start recovers from.
        server.context.log.warn("second signal: exiting without waiting", { signal });
        process.exit(128 + osConstants.signals[signal]);
      }
      stopping = true;
      server.context.log.info("shutting down: no new connections; waiting for requests and inventory runs in progress", { signal, timeoutSeconds: shutdownSeconds });
      server.close({ graceMs: shutdownSeconds * 1000 }).then(
        () => process.exit(0),
        (err: unknown) => {
          server.context.log.error("shutdown failed", { error: err instanceof Error ? err.stack : String(err) });
          process.exit(1);
        },
      );
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    // Certificate renewals (certbot, cert-manager) write new files and signal; connections stay up.
    process.on("SIGHUP", () => void server.reloadCertificate());
  });

const accounts = program.command("accounts").description("manage accounts and their access keys");
accounts
  .command("create")
  .description("add an account (or a key to an existing account id), printing its id and keys")
  .addOption(dataDirOption())
  .addOption(metadataOption())
  .option("--id <accountId>", "12-digit account id (generated when omitted)")
  .option("--access-key <key>", "access key id (generated when omitted)")
  .option("--secret-key <secret>", "secret access key (generated when omitted)")
  .option("--json", "print the credentials as JSON")
  .action(async (opts: { dataDir: string; metadata?: string; id?: string; accessKey?: string; secretKey?: string; json?: boolean }) => {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const metadata = await openMetadataStore(opts.dataDir, opts.metadata || undefined);
    try {
      const creds = await createAccount(
        metadata,
        loadSealingKey(opts.dataDir),
        { accountId: opts.id, accessKeyId: opts.accessKey, secretAccessKey: opts.secretKey },
        new Date(),
      );
      printCredentials(creds, opts.json);
    } finally {
      await metadata.close();
    }
  });

accounts
  .command("list")
  .description("list the accounts: id, canonical user id, display name and when each was created")
  .addOption(dataDirOption())
  .addOption(metadataOption())
  .option("--json", "print the accounts as JSON")
  .action(async (opts: { dataDir: string; metadata?: string; json?: boolean }) => {
    await withStore(opts, async (metadata) => {
      const all = await metadata.listAccounts();
      if (opts.json) {
        process.stdout.write(JSON.stringify(all.map((a) => ({ ...a, createdAt: a.createdAt.toISOString() }))) + "\n");
        return;
      }
      process.stdout.write(
        formatTable(
          [{ header: "ACCOUNT ID" }, { header: "DISPLAY NAME" }, { header: "CREATED (UTC)" }, { header: "CANONICAL USER ID" }],
          all.map((a) => [a.accountId, a.displayName, utcTime(a.createdAt), a.canonicalId]),
        ),
      );
    });
  });

const keys = program.command("keys").description("an account's access keys: list, create, delete, rotate");

/** Opens the data directory's metadata store (the server may be running on it) for `fn`. */
async function withStore<T>(opts: { dataDir: string; metadata?: string }, fn: (metadata: MetadataStore) => Promise<T>): Promise<T> {
  const metadata = await openMetadataStore(opts.dataDir, opts.metadata || undefined);
  try {
    return await fn(metadata);
  } finally {
    await metadata.close();
  }
}

function printCredentials(creds: { accountId: string; accessKeyId: string; secretAccessKey: string }, json: boolean | undefined): void {
  if (json) process.stdout.write(JSON.stringify(creds) + "\n");
  else process.stdout.write(`account id:        ${creds.accountId}\naccess key id:     ${creds.accessKeyId}\nsecret access key: ${creds.secretAccessKey}\n`);
}

/** Refuses to take an account's last key away: its owner would be locked out. */
async function keyToRemove(metadata: MetadataStore, accessKeyId: string): Promise<AccessKeyRecord> {
  const key = await metadata.getAccessKey(accessKeyId);
  if (!key) throw new Error(`no access key ${accessKeyId}`);
  if ((await metadata.listAccessKeys(key.accountId)).length < 2) throw new Error(`${accessKeyId} is the last access key of account ${key.accountId}: create another first`);
  return key;
}

keys
  .command("list")
  .description("list an account's access keys and when each was created (never the secrets)")
  .addOption(dataDirOption())
  .addOption(metadataOption())
  .requiredOption("--account <accountId>", "the 12-digit account id")
  .option("--json", "print the keys as JSON")
  .action(async (opts: { dataDir: string; metadata?: string; account: string; json?: boolean }) => {
    await withStore(opts, async (metadata) => {
      if (!(await metadata.getAccount(opts.account))) throw new Error(`no account ${opts.account}`);
      const list = await metadata.listAccessKeys(opts.account);
      if (opts.json) {
        process.stdout.write(JSON.stringify(list.map((k) => ({ accessKeyId: k.accessKeyId, accountId: k.accountId, createdAt: k.createdAt.toISOString() }))) + "\n");
        return;
      }
      process.stdout.write(formatTable([{ header: "ACCESS KEY ID" }, { header: "CREATED (UTC)" }], list.map((k) => [k.accessKeyId, utcTime(k.createdAt)])));
    });
  });

keys
  .command("create")
  .description("add an access key to an existing account, printing it and its secret once")
  .addOption(dataDirOption())
  .addOption(metadataOption())
  .requiredOption("--account <accountId>", "the 12-digit account id")
  .option("--json", "print the credentials as JSON")
  .action(async (opts: { dataDir: string; metadata?: string; account: string; json?: boolean }) => {
    await withStore(opts, async (metadata) => {
      if (!(await metadata.getAccount(opts.account))) throw new Error(`no account ${opts.account}`);
      printCredentials(await createAccount(metadata, loadSealingKey(opts.dataDir), { accountId: opts.account }, new Date()), opts.json);
    });
  });

keys
  .command("delete")
  .description("remove an access key at once (an account's last key is kept)")
  .argument("<accessKeyId>")
  .addOption(dataDirOption())
  .addOption(metadataOption())
  .action(async (accessKeyId: string, opts: { dataDir: string; metadata?: string }) => {
    await withStore(opts, async (metadata) => {
      await keyToRemove(metadata, accessKeyId);
      await metadata.deleteAccessKey(accessKeyId);
      process.stdout.write(`deleted ${accessKeyId}\n`);
    });
  });

keys
  .command("rotate")
  .description("replace an access key: a new key for its account is printed once, then the old one is removed")
  .argument("<accessKeyId>")
  .addOption(dataDirOption())
  .addOption(metadataOption())
  .option("--json", "print the new credentials as JSON")
  .action(async (accessKeyId: string, opts: { dataDir: string; metadata?: string; json?: boolean }) => {
    await withStore(opts, async (metadata) => {
      const old = await metadata.getAccessKey(accessKeyId);
      if (!old) throw new Error(`no access key ${accessKeyId}`);
      const fresh = await createAccount(metadata, loadSealingKey(opts.dataDir), { accountId: old.accountId }, new Date());
      await keyToRemove(metadata, accessKeyId);
      await metadata.deleteAccessKey(accessKeyId);
      printCredentials(fresh, opts.json);
    });
  });

const kms = program.command("kms").description("the local key service's KMS keys, for SSE-KMS and DSSE-KMS");

/** Opens the key service of a data directory (the server may be running on it) for `fn`. */
async function withKeys<T>(opts: { dataDir: string; metadata?: string; region: string; masterKey?: string }, fn: (keys: KeyService, rootAccount: string | undefined) => Promise<T>): Promise<T> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const metadata = await openMetadataStore(opts.dataDir, opts.metadata || undefined);
  try {
    const keys = new KeyService(metadata, await loadMasterKey(opts.dataDir, metadata, opts.masterKey), opts.region);
    return await fn(keys, await metadata.getSetting("root-account-id"));
  } finally {
    await metadata.close();
  }
}

kms
  .command("create-key")
  .description("create a KMS key (and an alias for it), printing its key id and ARN")
  .addOption(dataDirOption())
  .addOption(metadataOption())
  .addOption(masterKeyOption())
  .addOption(new Option("--region <region>", "the server's region (part of the key's ARN)").env("STOCKTAKE_REGION").default(defaultConfig.region))
  .option("--alias <alias>", "an alias for the key: alias/<name>")
  .option("--account <accountId>", "the account that owns the key (default: the root account)")
  .option("--description <text>", "a description of the key")
  .option("--json", "print the key as JSON")
  .action(async (opts: { dataDir: string; metadata?: string; region: string; masterKey?: string; alias?: string; account?: string; description?: string; json?: boolean }) => {
    await withKeys(opts, async (keys, root) => {
      const account = opts.account ?? root;
      if (account === undefined) throw new Error("no root account yet: start the server once, or give --account");
      const key = await keys.createKey(account, { alias: opts.alias, description: opts.description });
      const shown = { KeyId: key.keyId, Arn: key.arn, AccountId: key.accountId, Aliases: key.aliases };
      if (opts.json) process.stdout.write(JSON.stringify(shown) + "\n");
      else process.stdout.write(`key id:  ${key.keyId}\narn:     ${key.arn}\n${key.aliases.map((a) => `alias:   ${a}\n`).join("")}`);
    });
  });

kms
  .command("list-keys")
  .description("list the KMS keys (of one account, or all)")
  .addOption(dataDirOption())
  .addOption(metadataOption())
  .addOption(masterKeyOption())
  .addOption(new Option("--region <region>", "the server's region").env("STOCKTAKE_REGION").default(defaultConfig.region))
  .option("--account <accountId>", "only this account's keys")
  .option("--json", "print the keys as JSON")
  .action(async (opts: { dataDir: string; metadata?: string; region: string; masterKey?: string; account?: string; json?: boolean }) => {
    await withKeys(opts, async (keys) => {
      const list = (await keys.listKeys(opts.account)).map((k) => ({ KeyId: k.keyId, Arn: k.arn, AccountId: k.accountId, Aliases: k.aliases, CreationDate: k.createdAt, Description: k.description }));
      if (opts.json) process.stdout.write(JSON.stringify(list, null, 2) + "\n");
      else
        process.stdout.write(
          formatTable(
            [{ header: "KEY ID" }, { header: "ALIASES" }, { header: "CREATED (UTC)" }, { header: "ARN" }],
            list.map((k) => [k.KeyId, k.Aliases.join(",") || "-", utcTime(k.CreationDate), k.Arn]),
          ),
        );
    });
  });

const inventory = program.command("inventory").description("inventory reports on demand, from a running server");

// No defaults here: an unset flag lets the AWS environment and files decide (src/cli/aws-config.ts).
const endpointOption = () =>
  new Option("--endpoint <url>", `the running server (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url, or ${DEFAULT_ENDPOINT})`).env("STOCKTAKE_ENDPOINT");
const regionOption = () =>
  new Option("--region <region>", `the server's region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's region, or ${defaultConfig.region})`).env("STOCKTAKE_REGION");
const profileOption = () =>
  new Option("--profile <name>", "the profile in the aws config and credentials files to take keys, endpoint_url and region from (else AWS_PROFILE, or default)");
type ClientCommandOptions = { endpoint?: string; region?: string; profile?: string };
const clientOptions = (opts: ClientCommandOptions) => resolveClientOptions(opts, defaultConfig.region);

inventory
  .command("run")
  .description("produce a report now; waits, prints the manifest's key, exits non-zero with the reason on failure")
  .requiredOption("--bucket <bucket>", "the source bucket")
  .requiredOption("--id <id>", "the inventory configuration id")
  .addOption(endpointOption())
  .addOption(regionOption())
  .addOption(profileOption())
  .action(async (opts: ClientCommandOptions & { bucket: string; id: string }) => {
    const run = await runInventoryNow(await clientOptions(opts), opts.bucket, opts.id, process.stderr);
    if (run.status !== "succeeded") throw new Error(`inventory run ${run.runId} failed: ${run.error ?? run.status}`);
    process.stderr.write(`${run.rows.toLocaleString()} rows in ${run.files} file(s), ${run.bytes.toLocaleString()} bytes\n`);
    process.stdout.write(`${run.manifestKey}\n`);
  });

inventory
  .command("runs")
  .description("list a bucket's inventory runs, oldest first: status, start time, duration, rows, size, files, and the manifest or the error")
  .requiredOption("--bucket <bucket>", "the source bucket")
  .option("--id <id>", "only runs of this configuration")
  .option("--last <n>", "only the newest n runs")
  .addOption(endpointOption())
  .addOption(regionOption())
  .addOption(profileOption())
  .option("--json", "print the runs as JSON, each with its report's summary (GET ?inventory-runs with Accept: application/json)")
  .action(async (opts: ClientCommandOptions & { bucket: string; id?: string; last?: string; json?: boolean }) => {
    const last = opts.last === undefined ? Infinity : Number(opts.last);
    if (!(last === Infinity || (Number.isInteger(last) && last >= 1))) throw new Error(`invalid --last: ${opts.last}`);
    const runs = await listInventoryRuns(await clientOptions(opts), opts.bucket, opts.id, last);
    if (opts.json) {
      process.stdout.write(JSON.stringify(runs, null, 2) + "\n");
      return;
    }
    process.stdout.write(
      formatTable(
        [
          { header: "RUN ID" },
          { header: "CONFIGURATION" },
          { header: "STATUS" },
          { header: "STARTED (UTC)" },
          { header: "DURATION", numeric: true },
          { header: "ROWS", numeric: true },
          { header: "SIZE", numeric: true },
          { header: "FILES", numeric: true },
          { header: "MANIFEST OR ERROR" },
        ],
        runs.map((r) => [
          r.runId,
          r.id,
          r.status,
          utcTime(r.startedAt),
          r.startedAt !== undefined && r.finishedAt !== undefined ? duration(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : "-",
          r.rows.toLocaleString("en-US"),
          size(r.bytes),
          String(r.files),
          r.manifestKey ?? r.error ?? "",
        ]),
      ),
    );
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`stocktake: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
