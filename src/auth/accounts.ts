// Accounts and access keys. SigV4 needs each secret in the clear when verifying, so secrets are
// stored sealed (AES-256-GCM) under a key file that lives beside, not inside, the metadata
// database: a copy of meta/ alone does not reveal them. Both files are mode 0600.
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readOrCreateKeyFile } from "../key-files.js";
import { join } from "node:path";
import type { AccountRecord, MetadataStore } from "../storage/types.js";

export interface Credentials {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const SEALED_PREFIX = "sealed:v1:";

/** The key that seals stored secrets; created on first use. */
export function loadSealingKey(dataDir: string): Buffer {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, "secrets.key");
  const key = Buffer.from(readOrCreateKeyFile(path, () => randomBytes(32).toString("base64") + "\n").trim(), "base64");
  if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte key`);
  return key;
}

export function sealSecret(key: Buffer, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

export function openSecret(key: Buffer, stored: string): string {
  if (!stored.startsWith(SEALED_PREFIX)) return stored;
  const raw = Buffer.from(stored.slice(SEALED_PREFIX.length), "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}

const KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function generateAccessKeyId(): string {
  let id = "STK";
  for (let i = 0; i < 17; i++) id += KEY_ALPHABET[randomInt(KEY_ALPHABET.length)];
  return id;
}

export function generateSecretKey(): string {
  return randomBytes(30).toString("base64").replace(/\+/g, "A").replace(/\//g, "b");
}

export function generateAccountId(): string {
  let id = String(randomInt(1, 10));
  for (let i = 0; i < 11; i++) id += String(randomInt(10));
  return id;
}

export function canonicalIdFor(accountId: string): string {
  return createHash("sha256").update("stocktake-account:" + accountId).digest("hex");
}

export function isValidAccountId(id: string): boolean {
  return /^[0-9]{12}$/.test(id);
}

export interface CreateAccountInput {
  accountId?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  displayName?: string;
}

/**
 * Adds an account with one access key (or adds the key to an existing account with that id).
 * Returns the credentials, including a generated secret, which is shown to the caller once.
 */
export async function createAccount(
  metadata: MetadataStore,
  sealingKey: Buffer,
  input: CreateAccountInput,
  now: Date,
): Promise<Credentials> {
  const accountId = input.accountId ?? generateAccountId();
  if (!isValidAccountId(accountId)) throw new Error(`account id must be 12 digits: ${accountId}`);
  if ((input.accessKeyId === undefined) !== (input.secretAccessKey === undefined)) {
    throw new Error("give both an access key and a secret key, or neither");
  }
  const accessKeyId = input.accessKeyId ?? generateAccessKeyId();
  const secretAccessKey = input.secretAccessKey ?? generateSecretKey();
  const existingKey = await metadata.getAccessKey(accessKeyId);
  if (existingKey && existingKey.accountId !== accountId) {
    throw new Error(`access key ${accessKeyId} already belongs to account ${existingKey.accountId}`);
  }
  if (!(await metadata.getAccount(accountId))) {
    const account: AccountRecord = {
      accountId,
      canonicalId: canonicalIdFor(accountId),
      displayName: input.displayName ?? `account-${accountId}`,
      createdAt: now,
    };
    await metadata.putAccount(account);
  }
  await metadata.putAccessKey({ accessKeyId, secretAccessKey: sealSecret(sealingKey, secretAccessKey), accountId, createdAt: now });
  return { accountId, accessKeyId, secretAccessKey };
}

const ROOT_ACCOUNT_SETTING = "root-account-id";

/**
 * Makes sure the root account exists. Credentials given by the operator are (re)registered;
 * otherwise they are generated on first start and returned with `generated: true` so the caller
 * can print them once.
 */
export async function ensureRootAccount(
  metadata: MetadataStore,
  sealingKey: Buffer,
  given: { accountId?: string; accessKeyId?: string; secretAccessKey?: string },
  now: Date,
): Promise<{ credentials: Credentials; generated: boolean }> {
  const storedRoot = await metadata.getSetting(ROOT_ACCOUNT_SETTING);
  const accountId = given.accountId ?? storedRoot ?? generateAccountId();
  if (storedRoot === undefined || storedRoot !== accountId) await metadata.putSetting(ROOT_ACCOUNT_SETTING, accountId);
  if (given.accessKeyId && given.secretAccessKey) {
    const existing = await metadata.getAccessKey(given.accessKeyId);
    if (!existing || existing.accountId !== accountId || openSecret(sealingKey, existing.secretAccessKey) !== given.secretAccessKey) {
      const credentials = await createAccount(
        metadata,
        sealingKey,
        { accountId, accessKeyId: given.accessKeyId, secretAccessKey: given.secretAccessKey, displayName: "root" },
        now,
      );
      return { credentials, generated: false };
    }
    return { credentials: { accountId, accessKeyId: given.accessKeyId, secretAccessKey: given.secretAccessKey }, generated: false };
  }
  const keySetting = await metadata.getSetting("root-access-key-id");
  if (keySetting) {
    const key = await metadata.getAccessKey(keySetting);
    if (key) {
      return {
        credentials: { accountId: key.accountId, accessKeyId: key.accessKeyId, secretAccessKey: openSecret(sealingKey, key.secretAccessKey) },
        generated: false,
      };
    }
  }
  const credentials = await createAccount(metadata, sealingKey, { accountId, displayName: "root" }, now);
  await metadata.putSetting("root-access-key-id", credentials.accessKeyId);
  return { credentials, generated: true };
}

/** The secret and account for an access key id, as SigV4 verification needs them. */
export function lookupSigningKey(
  metadata: MetadataStore,
  sealingKey: Buffer,
): (accessKeyId: string) => Promise<{ secretAccessKey: string; accountId: string } | undefined> {
  const opened = new Map<string, { stored: string; secret: string }>();
  return async (accessKeyId) => {
    const key = await metadata.getAccessKey(accessKeyId);
    if (!key) return undefined;
    // Unsealing costs an AES-GCM pass; remember the result while the stored value is unchanged.
    let cached = opened.get(accessKeyId);
    if (!cached || cached.stored !== key.secretAccessKey) {
      cached = { stored: key.secretAccessKey, secret: openSecret(sealingKey, key.secretAccessKey) };
      if (opened.size > 10_000) opened.clear();
      opened.set(accessKeyId, cached);
    }
    return { secretAccessKey: cached.secret, accountId: key.accountId };
  };
}
