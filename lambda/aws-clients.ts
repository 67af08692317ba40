/*
 * The SDK clients are loaded lazily: neither STS nor Secrets Manager sits on the normal path, and a Lambda in a VPC
 * without NAT cannot reach them, so each call is bounded instead of hanging until the function timeout.
 */
export const AWS_REQUEST_TIMEOUTS = { connectionTimeout: 1000, requestTimeout: 2000 } as const;
export const AWS_MAX_ATTEMPTS = 2;
