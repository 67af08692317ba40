import type { Context } from 'aws-lambda';

/** The context Lambda passes with an invocation; the function reads its ARN (account fallback) and name. */
export function lambdaContext(functionArn: string, requestId: string): Context {
  const functionName = functionArn.split(':')[6] ?? 'poller';
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
