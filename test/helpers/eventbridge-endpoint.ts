/*
 * EventBridge's PutEvents on 127.0.0.1, in its own JSON protocol (`X-Amz-Target: AWSEvents.PutEvents`,
 * application/x-amz-json-1.1), with its limits (10 entries, 256 KiB of entries per request: ValidationException) and
 * its per-entry failures, so that the real client's serialization and the sender's chunking and retries run.
 */
import { randomUUID } from 'node:crypto';
import { startAwsJsonEndpoint } from './aws-json-endpoint.ts';

export interface ReceivedEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly Resources?: string[];
  readonly EventBusName?: string;
  /** Epoch seconds, as the JSON protocol carries timestamps. */
  readonly Time?: number;
}

export interface EventBridgeEndpoint {
  readonly endpoint: string;
  /** Entries accepted, in order. */
  readonly received: ReceivedEntry[];
  /** PutEvents requests answered (including those with failed entries). */
  requests(): number;
  /** The next `count` entries are answered with an entry error (the request itself succeeds). */
  failEntries(count: number): void;
  close(): Promise<void>;
}

const MAX_BYTES = 256 * 1024;

export async function startEventBridgeEndpoint(): Promise<EventBridgeEndpoint> {
  const received: ReceivedEntry[] = [];
  let requests = 0;
  let failing = 0;
  const local = await startAwsJsonEndpoint((request, raw, response) => {
    const body = raw.toString('utf8');
    const reply = (status: number, answer: object) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      response.end(JSON.stringify(answer));
    };
    if (request.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
      reply(400, { __type: 'UnknownOperationException', message: `unknown operation ${request.headers['x-amz-target']}` });
      return;
    }
    const entries = (JSON.parse(body) as { Entries?: ReceivedEntry[] }).Entries ?? [];
    // EventBridge's measure of an entry: 14 bytes for Time, then Source, DetailType, Detail and Resources in UTF-8.
    const bytes = entries.reduce(
      (sum, entry) =>
        sum +
        (entry.Time === undefined ? 0 : 14) +
        [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])].reduce(
          (size, text) => size + Buffer.byteLength(text ?? ''),
          0,
        ),
      0,
    );
    if (entries.length === 0 || entries.length > 10 || bytes > MAX_BYTES) {
      reply(400, { __type: 'ValidationException', message: `${entries.length} entries of ${bytes} bytes: over the limit` });
      return;
    }
    requests += 1;
    const answers = entries.map((entry) => {
      if (failing > 0) {
        failing -= 1;
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service error.' };
      }
      received.push(entry);
      return { EventId: randomUUID() };
    });
    reply(200, { FailedEntryCount: answers.filter((answer) => 'ErrorCode' in answer).length, Entries: answers });
  });
  return {
    endpoint: local.endpoint,
    received,
    requests: () => requests,
    failEntries: (count) => {
      failing += count;
    },
    close: local.close,
  };
}
