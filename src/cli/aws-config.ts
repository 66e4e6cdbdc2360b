// Where `stocktake inventory` finds the server and the caller's keys: the places every AWS tool
// looks, in the order the AWS SDKs and the aws CLI look, so a user's existing setup (an
// AWS_PROFILE, ~/.aws/config with endpoint_url, ~/.aws/credentials) works without new flags.
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { getProfileName, loadSharedConfigFiles, type ParsedIniData } from "@smithy/core/config";
import type { ClientOptions } from "./inventory.js";

export const DEFAULT_ENDPOINT = "http://127.0.0.1:9000";

export interface ClientFlags {
  /** --endpoint, or STOCKTAKE_ENDPOINT: before anything the AWS tools read. */
  endpoint?: string;
  /** --region, or STOCKTAKE_REGION. */
  region?: string;
  /** --profile: before AWS_PROFILE. */
  profile?: string;
}

function section(files: ParsedIniData, name: string): Record<string, string | undefined> {
  return files[name] ?? {};
}

/** The endpoint a tool configured for S3 would use, or undefined when none is configured. */
function configuredEndpoint(env: NodeJS.ProcessEnv, profile: Record<string, string | undefined>, config: ParsedIniData): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === "true") return undefined;
  if (env.AWS_ENDPOINT_URL_S3) return env.AWS_ENDPOINT_URL_S3;
  if (env.AWS_ENDPOINT_URL) return env.AWS_ENDPOINT_URL;
  if (profile.services !== undefined) {
    // A [services name] section's "s3 =" sub-section, which the loader flattens to "s3.endpoint_url".
    const services = config[`services.${profile.services}`];
    if (services === undefined) throw new Error(`the services section "${profile.services}" named by the profile is not in the config file`);
    if (services["s3.endpoint_url"]) return services["s3.endpoint_url"];
  }
  return profile.endpoint_url || undefined;
}

/**
 * The endpoint, region and keys, from the flags, then the environment, then the profile (--profile,
 * AWS_PROFILE or "default") in the aws config and credentials files (AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE move them). Keys come from the AWS SDK's own default chain, so a
 * profile's credential_process, SSO or role works as it does for the aws CLI.
 */
export async function resolveClientOptions(flags: ClientFlags, fallbackRegion: string, env: NodeJS.ProcessEnv = process.env): Promise<ClientOptions> {
  const profileName = getProfileName({ profile: flags.profile });
  const files = await loadSharedConfigFiles({ ignoreCache: true });
  const fromConfig = section(files.configFile, profileName);
  const fromCredentials = section(files.credentialsFile, profileName);
  const endpoint = flags.endpoint ?? configuredEndpoint(env, fromConfig, files.configFile) ?? DEFAULT_ENDPOINT;
  const region = flags.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || fromConfig.region || fromCredentials.region || fallbackRegion;
  let credentials;
  try {
    credentials = await defaultProvider({ profile: flags.profile })();
  } catch (err) {
    throw new Error(
      `no AWS credentials for profile "${profileName}": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give the profile keys in the aws credentials file (${(err as Error).message})`,
    );
  }
  return { endpoint, region, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey } };
}
