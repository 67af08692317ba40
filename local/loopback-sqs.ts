import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { EMULATOR_CREDENTIALS } from './local-credentials.ts';

export interface EmulatedMessage {
  readonly body: string;
  readonly messageAttributes: Record<string, { readonly StringValue?: string }>;
}

export interface LoopbackSqs {
  /** `http://127.0.0.1:PORT`: the endpoint for SDK clients. */
  readonly address: string;
  readonly port: number;
  /** An SQS client on the emulator for a region (the emulator reads the region from the request's signature). */
  client(region: string): SQSClient;
  /** CreateQueue through the API, as a deployment would. */
  createQueue(
    name: string,
    options: { readonly region: string; readonly attributes?: Record<string, string> },
  ): Promise<{ queueUrl: string; queueArn: string }>;
  /** Every message a queue holds (ready, delayed and in flight), read without receiving it. */
  messages(name: string): Promise<EmulatedMessage[]>;
  stop(): Promise<void>;
}

/**
 * fauxqs on 127.0.0.1 only. Its `startFauxqs` listens on every interface whatever `host` says, and the emulator has
 * no authentication: anyone on the network could inject events (published to REDIS_URL) or read them.
 */
export async function startLoopbackSqs(defaultRegion: string): Promise<LoopbackSqs> {
  const app = buildApp({ logger: false, defaultRegion });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : 0;
  const address = `http://127.0.0.1:${port}`;
  const clients = new Map<string, SQSClient>();
  const client = (region: string) => {
    let sqs = clients.get(region);
    if (sqs === undefined) {
      sqs = new SQSClient({ region, endpoint: address, credentials: EMULATOR_CREDENTIALS });
      clients.set(region, sqs);
    }
    return sqs;
  };

  return {
    address,
    port,
    client,
    async createQueue(name, { region, attributes }) {
      const sqs = client(region);
      const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
      return { queueUrl: QueueUrl, queueArn: Attributes.QueueArn ?? '' };
    },
    async messages(name) {
      // fauxqs' own inspection route: it leaves the messages where they are (a receive would count against them).
      const response = await fetch(`${address}/_fauxqs/queues/${encodeURIComponent(name)}`);
      if (response.status === 404) return [];
      const { messages } = (await response.json()) as {
        messages: { ready: EmulatedMessage[]; delayed: EmulatedMessage[]; inflight: { message: EmulatedMessage }[] };
      };
      return [...messages.ready, ...messages.delayed, ...messages.inflight.map((entry) => entry.message)];
    },
    async stop() {
      for (const sqs of clients.values()) sqs.destroy();
      await app.close();
    },
  };
}
