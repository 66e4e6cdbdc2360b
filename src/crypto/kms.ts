// The local key service behind SSE-S3, SSE-KMS and DSSE-KMS: the master key (a file in the data
// directory, or STOCKTAKE_MASTER_KEY), and KMS keys whose 32-byte material is stored sealed by the
// master key in the metadata store. Each account gets its AWS managed key `aws/s3` on first use;
// named keys come from `stocktake kms create-key`. A key is named by its id (a UUID), its ARN
// (arn:aws:kms:<region>:<account>:key/<uuid>), an alias (alias/<name>) or an alias ARN.
// https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { readOrCreateKeyFile } from "../key-files.js";
import { join } from "node:path";
import type { MetadataStore, StoredEncryption } from "../storage/types.js";
import { unwrapKey, wrapKey, type KekResolver } from "./sse.js";

/**
 * KMS records live in the metadata store's configuration table under a bucket name no bucket can
 * have (""), so they need no schema of their own; kinds "kms-key" (id: key UUID) and "kms-alias"
 * (id: "<account>:alias/<name>").
 */
const KMS_SCOPE = "";
const KEY_KIND = "kms-key";
const ALIAS_KIND = "kms-alias";
const MASTER_CHECK_SETTING = "master-key-check";
export const AWS_MANAGED_ALIAS = "alias/aws/s3";

export interface KmsKeyRecord {
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
  createdAt: string;
  description: string;
  aliases: string[];
  /** The key material, wrapped by the master key (base64). */
  sealed: string;
}

export interface KmsKey {
  keyId: string;
  arn: string;
  material: Buffer;
}

/** A KMS key that does not exist: S3 answers KMS.NotFoundException. */
export class KmsKeyNotFound extends Error {
  constructor(readonly requested: string) {
    super(`Invalid keyId '${requested}'`);
  }
}

function parseMasterKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  if (key.length !== 32) throw new Error(`${where} must hold a 32-byte key (base64 or 64 hex digits)`);
  return key;
}

/** The key id (UUID) of a KMS key's ARN, as a stored encryption records it; "" when there is none. */
export function keyIdOfArn(arn: string | undefined): string {
  return /key\/([0-9a-f-]{36})$/.exec(arn ?? "")?.[1] ?? "";
}

/**
 * The master key: `given` (STOCKTAKE_MASTER_KEY) when set, else `<data>/master.key`, created on
 * first use. A check value in the metadata store catches a different key on a later start (data
 * written under one master key cannot be read under another).
 */
export async function loadMasterKey(dataDir: string, metadata: MetadataStore, given?: string): Promise<Buffer> {
  const check = await metadata.getSetting(MASTER_CHECK_SETTING);
  let key: Buffer;
  if (given !== undefined && given !== "") {
    key = parseMasterKey(given, "STOCKTAKE_MASTER_KEY");
  } else {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, "master.key");
    if (!existsSync(path) && check !== undefined) throw new Error(`${path} is missing: this data directory was encrypted under a master key given by STOCKTAKE_MASTER_KEY`);
    key = parseMasterKey(readOrCreateKeyFile(path, () => randomBytes(32).toString("base64") + "\n"), path);
  }
  const mine = createHmac("sha256", key).update("stocktake master key check").digest("base64").slice(0, 22);
  if (check === undefined) await metadata.putSetting(MASTER_CHECK_SETTING, mine);
  else if (check !== mine) throw new Error("the master key is not the one this data directory's objects were encrypted with");
  return key;
}

export class KeyService {
  private readonly opened = new Map<string, KmsKey>();
  /** First-use creations of aws/s3 in flight, so concurrent requests create one key. */
  private readonly creating = new Map<string, Promise<KmsKey>>();

  constructor(
    private readonly metadata: MetadataStore,
    readonly masterKey: Buffer,
    private readonly region: string,
  ) {}

  /** Creates a key (and its alias, when given) in `accountId`; throws when the alias is taken. */
  async createKey(accountId: string, opts: { alias?: string; description?: string; now?: Date } = {}): Promise<KmsKeyRecord> {
    if (opts.alias !== undefined) {
      if (!/^alias\/[A-Za-z0-9/_-]{1,250}$/.test(opts.alias)) throw new Error(`an alias is alias/<name> of letters, digits, / _ -: ${opts.alias}`);
      if (opts.alias.startsWith("alias/aws/") && opts.alias !== AWS_MANAGED_ALIAS) throw new Error("aliases under alias/aws/ are reserved for AWS managed keys");
      if ((await this.aliasTarget(accountId, opts.alias)) !== undefined) throw new Error(`alias ${opts.alias} already exists in account ${accountId}`);
    }
    const keyId = randomUUID();
    const arn = `arn:aws:kms:${this.region}:${accountId}:key/${keyId}`;
    const material = randomBytes(32);
    const record: KmsKeyRecord = {
      keyId,
      arn,
      accountId,
      region: this.region,
      createdAt: (opts.now ?? new Date()).toISOString(),
      description: opts.description ?? "",
      aliases: opts.alias ? [opts.alias] : [],
      sealed: wrapKey(this.masterKey, material, Buffer.from(arn)).toString("base64"),
    };
    await this.metadata.putBucketConfig(KMS_SCOPE, KEY_KIND, keyId, JSON.stringify(record));
    if (opts.alias) await this.metadata.putBucketConfig(KMS_SCOPE, ALIAS_KIND, `${accountId}:${opts.alias}`, JSON.stringify({ keyId }));
    return record;
  }

  /** Keys of one account (or of all), by key id. */
  async listKeys(accountId?: string): Promise<KmsKeyRecord[]> {
    const out: KmsKeyRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.metadata.listBucketConfigs(KMS_SCOPE, KEY_KIND, after, 1000);
      for (const row of page) {
        const r = JSON.parse(row.json) as KmsKeyRecord;
        if (accountId === undefined || r.accountId === accountId) out.push(r);
      }
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.id;
    }
  }

  /** The account's AWS managed key for S3 (alias/aws/s3), created on first use. */
  async awsManagedKey(accountId: string): Promise<KmsKey> {
    const existing = await this.aliasTarget(accountId, AWS_MANAGED_ALIAS);
    if (existing !== undefined) return this.open(existing);
    let pending = this.creating.get(accountId);
    if (!pending) {
      pending = this.createKey(accountId, { alias: AWS_MANAGED_ALIAS, description: "Default key that protects my S3 objects when no other key is defined" })
        .then((r) => this.open(r.keyId))
        .finally(() => this.creating.delete(accountId));
      this.creating.set(accountId, pending);
    }
    return pending;
  }

  /**
   * The key a request names by id, ARN, alias or alias ARN; names without an ARN are looked up in
   * `accountId`. Throws KmsKeyNotFound.
   */
  async resolve(accountId: string, name: string): Promise<KmsKey> {
    const keyArn = /^arn:aws:kms:([^:]+):(\d{12}):key\/([0-9a-f-]{36})$/.exec(name);
    const aliasArn = /^arn:aws:kms:([^:]+):(\d{12}):(alias\/.+)$/.exec(name);
    let keyId: string | undefined;
    if (keyArn) {
      keyId = keyArn[1] === this.region ? keyArn[3] : undefined;
      if (keyId !== undefined && (await this.record(keyId))?.accountId !== keyArn[2]) keyId = undefined;
    } else if (aliasArn) {
      if (aliasArn[1] === this.region) {
        if (aliasArn[3] === AWS_MANAGED_ALIAS) return this.awsManagedKey(aliasArn[2]!);
        keyId = await this.aliasTarget(aliasArn[2]!, aliasArn[3]!);
      }
    } else if (name.startsWith("alias/")) {
      if (name === AWS_MANAGED_ALIAS) return this.awsManagedKey(accountId);
      keyId = await this.aliasTarget(accountId, name);
    } else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(name)) {
      keyId = (await this.record(name))?.accountId === accountId ? name : undefined;
    }
    if (keyId === undefined || (await this.record(keyId)) === undefined) throw new KmsKeyNotFound(name);
    return this.open(keyId);
  }

  /** Opens a key by its UUID (the id an encrypted body's header names). */
  async open(keyId: string): Promise<KmsKey> {
    const cached = this.opened.get(keyId);
    if (cached) return cached;
    const r = await this.record(keyId);
    if (!r) throw new KmsKeyNotFound(keyId);
    const key = { keyId, arn: r.arn, material: unwrapKey(this.masterKey, Buffer.from(r.sealed, "base64"), Buffer.from(r.arn)) };
    this.opened.set(keyId, key);
    return key;
  }

  /**
   * The key-encryption keys that open a body stored with `stored` (SSE-S3 or a KMS mode): the KMS
   * key is opened now, so that reading the body, which asks for its key synchronously, needs no
   * lookup. A body naming a key not opened here is refused.
   */
  async kekFor(stored: StoredEncryption): Promise<KekResolver> {
    if (stored.kind === "SSE-KMS" || stored.kind === "DSSE-KMS") await this.open(keyIdOfArn(stored.keyId));
    return (mode, kmsKeyId) => {
      if (mode === "SSE-S3") return this.masterKey;
      if (mode === "SSE-C") throw new Error("an SSE-C body needs the customer's key");
      const opened = this.opened.get(kmsKeyId ?? "");
      if (!opened) throw new KmsKeyNotFound(kmsKeyId ?? "");
      return opened.material;
    };
  }

  private async record(keyId: string): Promise<KmsKeyRecord | undefined> {
    const json = await this.metadata.getBucketConfig(KMS_SCOPE, KEY_KIND, keyId);
    return json === undefined ? undefined : (JSON.parse(json) as KmsKeyRecord);
  }

  private async aliasTarget(accountId: string, alias: string): Promise<string | undefined> {
    const json = await this.metadata.getBucketConfig(KMS_SCOPE, ALIAS_KIND, `${accountId}:${alias}`);
    return json === undefined ? undefined : (JSON.parse(json) as { keyId: string }).keyId;
  }
}
