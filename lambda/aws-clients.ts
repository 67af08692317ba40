/*
 * The SDK clients are loaded lazily: neither STS nor Secrets Manager sits on the normal path, and a Lambda in a VPC
 * without NAT cannot reach them, so each call is bounded instead of hanging until the function timeout.
 * `requestTimeout` alone only logs a warning in current SDKs (throwOnRequestTimeout), and the runtime's SDK may be
 * older or newer than ours: every call also carries its own abort signal.
 */
export const AWS_REQUEST_TIMEOUTS = { connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true } as const;
export const AWS_MAX_ATTEMPTS = 2;
const AWS_CALL_BUDGET_MS = 5000;

export function awsCallOptions(): { abortSignal: AbortSignal } {
  return { abortSignal: AbortSignal.timeout(AWS_CALL_BUDGET_MS) };
}
