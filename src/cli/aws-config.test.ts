// The CLI finds its server, region and keys where the AWS SDKs and the aws CLI do. Each case sets
// the environment as a user's shell would and writes the aws config and credentials files.
import { after, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_ENDPOINT, resolveClientOptions } from "./aws-config.js";

const dir = mkdtempSync(join(tmpdir(), "stocktake-aws-config-"));
const CONFIG = join(dir, "config");
const CREDENTIALS = join(dir, "credentials");
const saved = { ...process.env };

function files(config: string, credentials: string): void {
  writeFileSync(CONFIG, config);
  writeFileSync(CREDENTIALS, credentials);
}

describe("resolveClientOptions", () => {
  beforeEach(() => {
    for (const name of Object.keys(process.env)) if (name.startsWith("AWS_")) delete process.env[name];
    process.env.AWS_CONFIG_FILE = CONFIG;
    process.env.AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS;
    // Nothing configured must fail at once, not wait on an EC2 metadata service that is not there.
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    files("", "");
  });
  after(() => {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes keys, region and endpoint_url from the default profile when nothing else is set", async () => {
    files("[default]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:7001\n", "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = sk-default\n");
    assert.deepEqual(await resolveClientOptions({}, "us-east-1"), {
      endpoint: "http://127.0.0.1:7001",
      region: "eu-west-1",
      credentials: { accessKeyId: "AKDEFAULT", secretAccessKey: "sk-default" },
    });
  });

  it("reads the profile AWS_PROFILE names, and --profile before it", async () => {
    files(
      "[profile dev]\nregion = us-west-2\nendpoint_url = http://127.0.0.1:7002\n[profile ops]\nregion = ap-south-1\n",
      "[dev]\naws_access_key_id = AKDEV\naws_secret_access_key = sk-dev\n[ops]\naws_access_key_id = AKOPS\naws_secret_access_key = sk-ops\n",
    );
    process.env.AWS_PROFILE = "dev";
    const dev = await resolveClientOptions({}, "us-east-1");
    assert.deepEqual(dev, { endpoint: "http://127.0.0.1:7002", region: "us-west-2", credentials: { accessKeyId: "AKDEV", secretAccessKey: "sk-dev" } });
    const ops = await resolveClientOptions({ profile: "ops" }, "us-east-1");
    assert.deepEqual(ops, { endpoint: DEFAULT_ENDPOINT, region: "ap-south-1", credentials: { accessKeyId: "AKOPS", secretAccessKey: "sk-ops" } });
  });

  it("prefers keys in the environment to the default profile's", async () => {
    files("", "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = sk-file\n");
    process.env.AWS_ACCESS_KEY_ID = "AKENV";
    process.env.AWS_SECRET_ACCESS_KEY = "sk-env";
    assert.deepEqual((await resolveClientOptions({}, "us-east-1")).credentials, { accessKeyId: "AKENV", secretAccessKey: "sk-env" });
  });

  it("finds the endpoint in the flag, then AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the services section, endpoint_url", async () => {
    files(
      "[default]\nservices = local\nendpoint_url = http://127.0.0.1:7005\n[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:7004\n",
      "[default]\naws_access_key_id = AK\naws_secret_access_key = sk\n",
    );
    process.env.AWS_ENDPOINT_URL = "http://127.0.0.1:7003";
    process.env.AWS_ENDPOINT_URL_S3 = "http://127.0.0.1:7002";
    const endpoint = async () => (await resolveClientOptions({}, "us-east-1")).endpoint;
    assert.equal((await resolveClientOptions({ endpoint: "http://127.0.0.1:7001" }, "us-east-1")).endpoint, "http://127.0.0.1:7001");
    assert.equal(await endpoint(), "http://127.0.0.1:7002");
    delete process.env.AWS_ENDPOINT_URL_S3;
    assert.equal(await endpoint(), "http://127.0.0.1:7003");
    delete process.env.AWS_ENDPOINT_URL;
    assert.equal(await endpoint(), "http://127.0.0.1:7004");
    files("[default]\nendpoint_url = http://127.0.0.1:7005\n", "[default]\naws_access_key_id = AK\naws_secret_access_key = sk\n");
    assert.equal(await endpoint(), "http://127.0.0.1:7005");
    process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true";
    assert.equal(await endpoint(), DEFAULT_ENDPOINT);
  });

  it("finds the region in the flag, then AWS_REGION, AWS_DEFAULT_REGION, the profile, else the server's default", async () => {
    files("[default]\nregion = eu-central-1\n", "[default]\naws_access_key_id = AK\naws_secret_access_key = sk\n");
    process.env.AWS_REGION = "us-west-1";
    process.env.AWS_DEFAULT_REGION = "us-east-2";
    const region = async (flag?: string) => (await resolveClientOptions({ region: flag }, "us-east-1")).region;
    assert.equal(await region("sa-east-1"), "sa-east-1");
    assert.equal(await region(), "us-west-1");
    delete process.env.AWS_REGION;
    assert.equal(await region(), "us-east-2");
    delete process.env.AWS_DEFAULT_REGION;
    assert.equal(await region(), "eu-central-1");
    files("", "[default]\naws_access_key_id = AK\naws_secret_access_key = sk\n");
    assert.equal(await region(), "us-east-1");
  });

  it("says which profile has no keys, and refuses a services section that is not there", async () => {
    await assert.rejects(resolveClientOptions({ profile: "nobody" }, "us-east-1"), /no AWS credentials for profile "nobody"/);
    files("[default]\nservices = missing\n", "[default]\naws_access_key_id = AK\naws_secret_access_key = sk\n");
    await assert.rejects(resolveClientOptions({}, "us-east-1"), /services section "missing"/);
  });
});
