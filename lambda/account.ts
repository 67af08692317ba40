import { AWS_MAX_ATTEMPTS, AWS_REQUEST_TIMEOUTS, awsCallOptions } from './aws-clients.ts';
import { AccountUnavailableError } from './errors.ts';

/** Twelve ASCII digits. A loop, not a regular expression: it runs for every record before the publish. */
export function isAccountId(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 12) return false;
  for (let i = 0; i < 12; i++) {
    const code = value.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/** `arn:aws:lambda:us-east-1:123456789012:function:name` -> `123456789012`. */
export function accountFromArn(arn: string | undefined): string | undefined {
  const account = arn?.split(':')[4];
  return isAccountId(account) ? account : undefined;
}

export async function accountFromSts(): Promise<string> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({ requestHandler: AWS_REQUEST_TIMEOUTS, maxAttempts: AWS_MAX_ATTEMPTS });
  try {
    const { Account } = await sts.send(new GetCallerIdentityCommand({}), awsCallOptions());
    if (!isAccountId(Account)) throw new AccountUnavailableError('STS GetCallerIdentity returned no account');
    return Account;
  } finally {
    sts.destroy();
  }
}

/**
 * The account used when an event carries none: the function's own, from its ARN, else STS. The STS answer is
 * kept for the container's life; a failed call is not kept, so the next invocation asks again.
 */
export function createFallbackAccount(lookup: () => Promise<string> = accountFromSts) {
  let fromSts: Promise<string> | undefined;
  return (functionArn: string | undefined): Promise<string> => {
    const fromArn = accountFromArn(functionArn);
    if (fromArn !== undefined) return Promise.resolve(fromArn);
    if (fromSts === undefined) {
      fromSts = lookup().catch((error: unknown) => {
        fromSts = undefined;
        throw new AccountUnavailableError(
          `the event has no account and STS GetCallerIdentity failed: ${String((error as Error)?.message ?? error)}`,
        );
      });
    }
    return fromSts;
  };
}
