/*
 * Without credentials, the AWS SDK's default chain ends by asking the instance metadata service (169.254.169.254):
 * right on an EC2 host with a role, pointless and slow on a laptop, and a local run or a test must never reach it.
 */

/** Credentials for an emulator, which checks no signature: fixed, so that the SDK never looks for real ones. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** An endpoint on this machine: an emulator, never AWS itself. */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
}

/**
 * For a run where nothing real is meant: the SDK will not ask the metadata service, so a missing credential is one
 * clear line at once. An explicit AWS_EC2_METADATA_DISABLED (false: use the instance role) is left as it is.
 */
export function askNoMetadataService(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_EC2_METADATA_DISABLED ??= 'true';
}
