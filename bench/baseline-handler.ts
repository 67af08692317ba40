// The function's dependencies, loaded as the function loads them, around a handler that does nothing: what loading
// costs before a line of the function's own code runs.
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import { Cluster, Redis } from 'ioredis';

export const clients = [Redis, Cluster];
export const handler = middy(async () => []).use(sqsPartialBatchFailure({ logger: () => undefined }));
