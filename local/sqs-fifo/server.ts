import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SqsFifoApi } from './actions.ts';
import { SqsError } from './errors.ts';
import type { StoredMessage } from './queue.ts';

export interface SqsFifoServer {
  /** The endpoint to give an SQS client (loopback). */
  readonly address: string;
  /** Creates a queue (attributes as CreateQueue takes them); its DLQ, if it names one, must exist already. */
  createQueue(
    name: string,
    attributes?: Readonly<Record<string, string>>,
  ): { readonly queueUrl: string; readonly queueArn: string };
  /** Every message still in a queue, visible or in flight, in send order: read without receiving it. */
  messages(queueName: string): readonly StoredMessage[];
  stop(): Promise<void>;
}

export interface SqsFifoServerOptions {
  readonly region: string;
  /** @default '000000000000' */
  readonly accountId?: string;
}

/**
 * SQS FIFO queues for one account and region on a free loopback port, over the JSON protocol of the AWS SDK v3:
 * CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage(Batch), ReceiveMessage (long polling),
 * DeleteMessage(Batch), ChangeMessageVisibility(Batch). Queue URLs have fauxqs' shape,
 * `http://sqs.<region>.localhost:<port>/<account>/<name>`, so their region reads as from an AWS one. Credentials and
 * signatures are not checked.
 */
export async function startSqsFifoServer(options: SqsFifoServerOptions): Promise<SqsFifoServer> {
  const stopping = new AbortController();
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const api = new SqsFifoApi(
    options.region,
    options.accountId ?? '000000000000',
    `http://sqs.${options.region}.localhost:${port}`,
  );
  server.on(
    'request',
    (request: IncomingMessage, response: ServerResponse) => void answer(api, request, response, stopping.signal),
  );

  return {
    address: `http://127.0.0.1:${port}`,
    createQueue(name, attributes) {
      const queue = api.createQueue(name, attributes);
      return { queueUrl: queue.url, queueArn: queue.arn };
    },
    messages(queueName) {
      return api.queues.get(queueName)?.messages() ?? [];
    },
    async stop() {
      stopping.abort();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

async function answer(api: SqsFifoApi, request: IncomingMessage, response: ServerResponse, stopping: AbortSignal): Promise<void> {
  // A long poll ends when its caller goes away (the SDK's abortSignal) or the server stops.
  const gone = new AbortController();
  response.once('close', () => gone.abort());
  const requestId = randomUUID();
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = request.headers['x-amz-target'];
    const action = typeof target === 'string' && target.startsWith('AmazonSQS.') ? api.actions.get(target.slice(10)) : undefined;
    if (action === undefined) {
      throw new SqsError(
        'UnsupportedOperation',
        `The local SQS FIFO emulator does not implement ${typeof target === 'string' ? target : 'requests without X-Amz-Target (it speaks the JSON protocol of the AWS SDK v3)'}.`,
      );
    }
    const output = await action(parseInput(Buffer.concat(chunks).toString('utf8')), AbortSignal.any([gone.signal, stopping]));
    reply(response, 200, output, { 'x-amzn-requestid': requestId });
  } catch (error) {
    if (error instanceof SqsError) {
      reply(
        response,
        error.status,
        { __type: `com.amazonaws.sqs#${error.code}`, message: error.message },
        {
          'x-amzn-requestid': requestId,
          'x-amzn-query-error': error.queryErrorHeader,
        },
      );
    } else {
      // A fault of the emulator itself, shown to the caller rather than hidden in a log.
      reply(response, 500, { __type: 'com.amazonaws.sqs#InternalError', message: String(error) });
    }
  }
}

function parseInput(text: string): Record<string, unknown> {
  try {
    const input: unknown = JSON.parse(text === '' ? '{}' : text);
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input as Record<string, unknown>;
  } catch {}
  throw new SqsError('InvalidParameterValue', 'The request body is not a JSON object.');
}

function reply(response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (response.writableEnded || response.destroyed) return;
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(payload),
  });
  response.end(payload);
}
