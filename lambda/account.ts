import { AWS_MAX_ATTEMPTS, AWS_REQUEST_TIMEOUTS, awsCallOptions } from './aws-clients.ts';
import { AccountUnavailableError } from './errors.ts';

export function isAccountId(value: unknown): value is string {
  return typeof value === 'string' && /^\d{12}$/.test(value);
}

/** `arn:aws:lambda:us-east-1:123456789012:function:name` -> `123456789012`. */
export function accountFromArn(arn: string | undefined): string | undefined {
  const account = arn?.split(':')[4];
  return isAccountId(account) ? account : undefined;
}

/** Where and how long the STS call may take: the region of the queue the records came from, and the time left. */
export interface StsCall {
  readonly region: string | undefined;
  readonly budgetMs: number;
}

export async function accountFromSts({ region, budgetMs }: StsCall): Promise<string> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({
    // In poll mode AWS_REGION may be unset; the records' queue names a region that has an STS endpoint.
    ...(region === undefined ? {} : { region }),
    requestHandler: AWS_REQUEST_TIMEOUTS,
    maxAttempts: AWS_MAX_ATTEMPTS,
  });
  try {
    const { Account } = await sts.send(new GetCallerIdentityCommand({}), awsCallOptions(budgetMs));
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
export function createFallbackAccount(lookup: (call: StsCall) => Promise<string> = accountFromSts) {
  let fromSts: Promise<string> | undefined;
  return (functionArn: string | undefined, call: StsCall): Promise<string> => {
    const fromArn = accountFromArn(functionArn);
    if (fromArn !== undefined) return Promise.resolve(fromArn);
    fromSts ??= lookup(call).catch((error: unknown) => {
      fromSts = undefined;
      throw new AccountUnavailableError(
        `the event has no account and STS GetCallerIdentity failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    return fromSts;
  };
}
