/*
 * Counts the EC2 requests of one invocation, and those EC2 throttled, including the SDK's own retries (each attempt
 * is a request EC2 rate-limits). The clients live for the container; the counts belong to the invocation that is
 * running, found through AsyncLocalStorage, so concurrent invocations (the local poller) keep their own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EC2Client } from '@aws-sdk/client-ec2';

export interface CallCounts {
  calls: number;
  throttles: number;
}

const MIDDLEWARE_NAME = 'describerCallCounter';
const current = new AsyncLocalStorage<CallCounts>();

/** Adds the counter to the client once; a client that has it already is returned as is. */
export function countingCalls(client: EC2Client): EC2Client {
  if (client.middlewareStack.identify().some((entry) => entry.startsWith(MIDDLEWARE_NAME))) return client;
  client.middlewareStack.add(
    (next) => async (args) => {
      const counts = current.getStore();
      if (counts !== undefined) counts.calls += 1;
      try {
        return await next(args);
      } catch (error) {
        if (counts !== undefined && (error as Error | undefined)?.name === 'RequestLimitExceeded') counts.throttles += 1;
        throw error;
      }
    },
    // Deserialize, high priority: inside the retry loop (one count per attempt), outside the parser (named errors).
    { step: 'deserialize', priority: 'high', name: MIDDLEWARE_NAME },
  );
  return client;
}

/** Runs `work`, counting the calls it makes into `counts` (which keep what was counted even when `work` fails). */
export function countingInto<T>(counts: CallCounts, work: () => Promise<T>): Promise<T> {
  return current.run(counts, work);
}
