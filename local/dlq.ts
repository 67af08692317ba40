import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { Environment } from '../lambda/config.ts';
import { CliError, parseFlags } from './cli.ts';
import { askNoMetadataService, EMULATOR_CREDENTIALS, isLoopbackUrl } from './local-credentials.ts';
import { wholeNumber } from './poller-cli.ts';
import { explainAwsError } from './preflight.ts';
import { regionOfQueueUrl } from './sqs-records.ts';
import { columns } from './terminal.ts';

export const DLQ_USAGE = `Usage: npm run dlq -- --queue-url DLQ_URL [--redrive] [options]

Lists what waits in a dead-letter queue: message id, message group, receive count, when it was first sent, the
event's id and detail-type. Listing receives each message with a short visibility timeout (--visibility-timeout,
default 10 s) and makes it visible again as soon as the list is done: nothing is deleted. A FIFO queue hands out a
group's next message only after the earlier ones, so the list shows at least the oldest message of every group.

With --redrive, starts an SQS message move task (StartMessageMoveTask) that moves every message to the queue that
dead-letters into this one (found with ListDeadLetterSourceQueues; --destination-arn names another). The task is
told the destination because records the function parked never went through SQS's redrive and carry no source of
their own. Fix the cause first, or the events come back here.

Options:
  --queue-url URL           the dead-letter queue (the stack's DeadLetterQueueUrl output)
  --redrive                 move the messages back to their source queue
  --destination-arn ARN     with --redrive: the queue to move them to (default: the one queue whose redrive
                            policy names this dead-letter queue)
  --max N                   list at most N messages (default 100)
  --visibility-timeout S    how long a listed message stays hidden at most (default 10, 1 to 60)
  --endpoint-url URL        an SQS emulator's endpoint (one on this machine gets placeholder credentials)
  --region R                region of a queue URL that names none (default AWS_REGION)
  --help                    this text

IAM: sqs:GetQueueAttributes, sqs:ReceiveMessage, sqs:ChangeMessageVisibility on the dead-letter queue; with
--redrive also sqs:StartMessageMoveTask, sqs:DeleteMessage and sqs:ListDeadLetterSourceQueues on it and
sqs:GetQueueAttributes and sqs:SendMessage on the source queue.`;

export interface DeadLetter {
  readonly messageId: string;
  readonly group: string;
  readonly receiveCount: number;
  readonly sentAt: string;
  readonly eventId: string;
  readonly detailType: string;
  /** Why it is here: the reason the function parked it with, or that it failed every receive SQS allowed. */
  readonly why: string;
}

export interface DlqDeps {
  readonly env?: Environment;
  readonly write?: (line: string) => void;
  /** A client for a region; tests inject one. */
  readonly client?: (region: string, endpoint: string | undefined) => SQSClient;
}

const DLQ_OPTIONS = {
  'queue-url': { type: 'string' },
  redrive: { type: 'boolean', default: false },
  'destination-arn': { type: 'string' },
  max: { type: 'string' },
  'visibility-timeout': { type: 'string' },
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

export async function runDlq(argv: readonly string[], deps: DlqDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const write = deps.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const values = parseFlags(argv, DLQ_OPTIONS, DLQ_USAGE);
  if (values.help) {
    write(DLQ_USAGE);
    return 0;
  }
  const queueUrl = values['queue-url'];
  if (queueUrl === undefined) throw new CliError(`--queue-url is required\n\n${DLQ_USAGE}`, 2);
  if (!URL.canParse(queueUrl)) throw new CliError(`--queue-url ${queueUrl}: not a URL`, 2);
  const region = regionOfQueueUrl(queueUrl) ?? values.region ?? env.AWS_REGION;
  if (region === undefined) throw new CliError(`--queue-url ${queueUrl}: the URL names no region; pass --region`, 2);
  const destinationArn = values['destination-arn'];
  if (destinationArn !== undefined && !values.redrive) throw new CliError('--destination-arn goes with --redrive', 2);
  if (destinationArn !== undefined && !/^arn:[\w-]+:sqs:[\w-]+:\d{12}:[\w-]+\.fifo$/.test(destinationArn)) {
    throw new CliError(
      `--destination-arn ${destinationArn}: not the ARN of a FIFO queue (arn:aws:sqs:REGION:ACCOUNT:NAME.fifo)`,
      2,
    );
  }
  const max = wholeNumber('max', values.max, 100, 1, 10_000);
  const visibility = wholeNumber('visibility-timeout', values['visibility-timeout'], 10, 1, 60);
  const endpoint = values['endpoint-url'];
  if (endpoint !== undefined && !URL.canParse(endpoint)) throw new CliError(`--endpoint-url ${endpoint}: not a URL`, 2);
  // As the poller does: an emulator on this machine checks no credentials, so none are looked for.
  const local = isLoopbackUrl(endpoint ?? queueUrl);
  if (local) askNoMetadataService();
  const sqs =
    deps.client?.(region, endpoint) ??
    new SQSClient({
      region,
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(local ? { credentials: EMULATOR_CREDENTIALS } : {}),
    });
  try {
    let attributes: Record<string, string>;
    try {
      ({ Attributes: attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'] }),
      ));
    } catch (error) {
      throw new CliError(`queue ${queueUrl} (region ${region}): ${explainAwsError(error)}`, 2);
    }
    const waiting = Number(attributes.ApproximateNumberOfMessages ?? '0');
    const listed = await listDeadLetters(sqs, queueUrl, { max, visibilitySeconds: visibility });
    write(
      `${queueUrl}: ${waiting === 0 ? 'no message' : `about ${waiting} ${waiting === 1 ? 'message' : 'messages'}`} waiting; listed ${listed.length} (each hidden for at most ${visibility} s while listed, then visible again; receive counts include this listing's receive)`,
    );
    if (listed.length > 0) {
      const rows = listed.map((item) => [
        item.messageId,
        item.group,
        String(item.receiveCount),
        item.sentAt,
        item.eventId,
        item.detailType,
        item.why,
      ]);
      for (const line of columns(['MESSAGE ID', 'GROUP', 'RECEIVES', 'SENT', 'EVENT ID', 'DETAIL-TYPE', 'WHY'], rows))
        write(line);
    }
    if (!values.redrive) return 0;
    if (waiting === 0 && listed.length === 0) {
      write('nothing to redrive');
      return 0;
    }
    const destination = destinationArn ?? (await sourceQueueArn(sqs, queueUrl));
    try {
      const { TaskHandle } = await sqs.send(
        new StartMessageMoveTaskCommand({ SourceArn: attributes.QueueArn, DestinationArn: destination }),
      );
      write(`redrive started: the messages move to ${destination} (task ${TaskHandle})`);
      write(`follow it with: aws sqs list-message-move-tasks --source-arn ${attributes.QueueArn} --region ${region}`);
    } catch (error) {
      throw new CliError(`redrive of ${queueUrl}: ${explainAwsError(error)}`, 2);
    }
    return 0;
  } finally {
    if (deps.client === undefined) sqs.destroy();
  }
}

/**
 * The ARN of the one queue whose redrive policy names this dead-letter queue. Parked records carry no
 * DeadLetterQueueSourceArn, so a move task without a destination would fail them; naming it moves every record.
 */
async function sourceQueueArn(sqs: SQSClient, deadLetterQueueUrl: string): Promise<string> {
  const ask = 'pass --destination-arn with the queue to move them to';
  let sources: string[];
  try {
    ({ queueUrls: sources = [] } = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: deadLetterQueueUrl })));
  } catch (error) {
    throw new CliError(
      `cannot find the queue that dead-letters into ${deadLetterQueueUrl}: ${explainAwsError(error)}; ${ask}`,
      2,
    );
  }
  const [only] = sources;
  if (only === undefined || sources.length > 1) {
    const found =
      sources.length === 0
        ? 'no queue names it in its redrive policy'
        : `${sources.length} queues name it (${sources.join(', ')})`;
    throw new CliError(`${deadLetterQueueUrl}: ${found}; ${ask}`, 2);
  }
  try {
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: only, AttributeNames: ['QueueArn'] }));
    if (Attributes.QueueArn !== undefined) return Attributes.QueueArn;
    throw new Error('SQS returned no QueueArn');
  } catch (error) {
    throw new CliError(`source queue ${only}: ${explainAwsError(error)}; ${ask}`, 2);
  }
}

/**
 * Receives until the queue hands out nothing more (or `max`), each message hidden for `visibilitySeconds` at most,
 * then makes every listed message visible again at once. Nothing is deleted.
 */
export async function listDeadLetters(
  sqs: SQSClient,
  queueUrl: string,
  options: { max: number; visibilitySeconds: number },
): Promise<DeadLetter[]> {
  const seen = new Map<string, Message>();
  try {
    while (seen.size < options.max) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, options.max - seen.size),
          VisibilityTimeout: options.visibilitySeconds,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['parked-reason'],
        }),
      );
      const fresh = Messages.filter((message) => message.MessageId !== undefined && !seen.has(message.MessageId));
      if (fresh.length === 0) break;
      for (const message of fresh) seen.set(message.MessageId ?? '', message);
    }
  } finally {
    const handles = [...seen.values()].map((message) => message.ReceiptHandle ?? '');
    for (let start = 0; start < handles.length; start += 10) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: handles
            .slice(start, start + 10)
            .map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 })),
        }),
      );
    }
  }
  return [...seen.values()].map(describeDeadLetter);
}

function describeDeadLetter(message: Message): DeadLetter {
  const attributes = message.Attributes ?? {};
  let event: { id?: unknown; 'detail-type'?: unknown } = {};
  try {
    const parsed = JSON.parse(message.Body ?? '') as unknown;
    if (typeof parsed === 'object' && parsed !== null) event = parsed as typeof event;
  } catch {
    // A body that is not JSON is listed without an event id: that is often why it is here.
  }
  const sent = Number(attributes.SentTimestamp);
  return {
    messageId: message.MessageId ?? '',
    group: attributes.MessageGroupId ?? '-',
    receiveCount: Number(attributes.ApproximateReceiveCount ?? '0'),
    sentAt: Number.isFinite(sent) ? new Date(sent).toISOString() : '-',
    eventId: typeof event.id === 'string' ? event.id : '(not JSON or no id)',
    detailType: typeof event['detail-type'] === 'string' ? event['detail-type'] : '-',
    why: reasonOf(message.MessageAttributes?.['parked-reason']?.StringValue),
  };
}

/** Parked by the function (its reason, one printable line), or moved by SQS after maxReceiveCount receives. */
function reasonOf(parked: string | undefined): string {
  if (parked === undefined) return 'failed every receive (maxReceiveCount)';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is taken out.
  return `parked: ${parked.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 160)}`;
}
