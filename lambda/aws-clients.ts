/*
 * The SDK clients are loaded lazily: neither STS nor Secrets Manager sits on the normal path, and a Lambda in a VPC
 * without NAT cannot reach them, so each call is bounded instead of hanging until the function timeout.
 * `requestTimeout` alone only logs a warning in current SDKs (throwOnRequestTimeout), and the runtime's SDK may be
 * older or newer than ours: every call also carries its own abort signal.
 */
export const AWS_REQUEST_TIMEOUTS = { connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true } as const;
export const AWS_MAX_ATTEMPTS = 2;
/** The most one AWS call may take, retries included; less when the invocation has less time left. */
export const AWS_CALL_BUDGET_MS = 5000;

export function awsCallOptions(budgetMs = AWS_CALL_BUDGET_MS): { abortSignal: AbortSignal } {
  return { abortSignal: AbortSignal.timeout(Math.max(1, Math.min(AWS_CALL_BUDGET_MS, budgetMs))) };
}

/** `arn:aws:secretsmanager:us-east-1:123456789012:secret:name` -> `us-east-1`. */
export function regionOfArn(arn: string): string | undefined {
  const region = arn.split(':')[3];
  return region === undefined || region === '' ? undefined : region;
}
