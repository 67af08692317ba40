import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { CliError } from '../local/cli.ts';
import { runDlq } from '../local/dlq.ts';
import { type LoopbackSqs, startLoopbackSqs } from '../local/loopback-sqs.ts';
import { runCli } from './helpers/cli.ts';

const DLQ_MAIN = new URL('../local/dlq-main.ts', import.meta.url).pathname;

const DLQ_NAME = 'management-events-us-east-1-dlq.fifo';

describe('npm run dlq', () => {
  let fauxqs: LoopbackSqs;
  let real: SQSClient;
  let dlqUrl = '';
  let dlqArn = '';
  let sourceUrl = '';
  let sourceArn = '';

  before(async () => {
    fauxqs = await startLoopbackSqs('us-east-1');
    const dlq = await fauxqs.createQueue(DLQ_NAME, {
      region: 'us-east-1',
      attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
    });
    dlqUrl = dlq.queueUrl;
    dlqArn = dlq.queueArn;
    const source = await fauxqs.createQueue('management-events-us-east-1.fifo', {
      region: 'us-east-1',
      attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
    });
    sourceUrl = source.queueUrl;
    sourceArn = source.queueArn;
    real = new SQSClient({
      region: 'us-east-1',
      endpoint: fauxqs.address,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    for (const [group, body] of [
      ['ec2-instances-events', JSON.stringify({ id: 'evt-1', 'detail-type': 'EC2 Instance State-change Notification' })],
      ['management-events-tags', JSON.stringify({ id: 'evt-2', 'detail-type': 'Tag Change on Resource' })],
    ]) {
      await real.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: body, MessageGroupId: group }));
    }
    // As the function parks a record that can never be published, saying why.
    await real.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: 'not json at all',
        MessageGroupId: 'api-calls',
        MessageAttributes: {
          'parked-reason': { DataType: 'String', StringValue: 'InvalidBodyError: body is not valid JSON\u001b[31m' },
        },
      }),
    );
  });
  after(async () => {
    real.destroy();
    await fauxqs.stop();
  });

  /**
   * A client on the emulator: every call goes to fauxqs except StartMessageMoveTask and ListDeadLetterSourceQueues,
   * which fauxqs does not implement; the source list answers `sources`.
   */
  function emulatorClientStubbingMoveTask(sources: () => string[] = () => [sourceUrl]) {
    const client = new SQSClient({
      region: 'us-east-1',
      endpoint: fauxqs.address,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const mock = mockClient(client);
    mock.on(GetQueueAttributesCommand).callsFake((input) => real.send(new GetQueueAttributesCommand(input)));
    mock.on(ReceiveMessageCommand).callsFake((input) => real.send(new ReceiveMessageCommand(input)));
    mock.on(ChangeMessageVisibilityBatchCommand).callsFake((input) => real.send(new ChangeMessageVisibilityBatchCommand(input)));
    mock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-handle-1' });
    mock.on(ListDeadLetterSourceQueuesCommand).callsFake(() => ({ queueUrls: sources() }));
    return { client, mock };
  }

  it('lists id, group and receive count of what waits, and leaves every message there, visible again', async () => {
    const lines: string[] = [];
    const { client } = emulatorClientStubbingMoveTask();
    const code = await runDlq(['--queue-url', dlqUrl], { write: (line) => lines.push(line), client: () => client });

    assert.equal(code, 0);
    assert.match(lines[0] ?? '', /: about 3 messages waiting; listed 3 \(each hidden for at most 10 s/);
    const rows = lines.slice(2).map((line) => line.split(/\s{2,}/));
    assert.deepEqual(rows.map(([, group, receives, , eventId, , why]) => [group, receives, eventId, why]).sort(), [
      ['api-calls', '1', '(not JSON or no id)', 'parked: InvalidBodyError: body is not valid JSON [31m'],
      ['ec2-instances-events', '1', 'evt-1', 'failed every receive (maxReceiveCount)'],
      ['management-events-tags', '1', 'evt-2', 'failed every receive (maxReceiveCount)'],
    ]);
    // Visible again right away: a receive now gets all three (one per group).
    const { Messages = [] } = await real.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 0 }),
    );
    assert.equal(Messages.length, 3);
  });

  it('says so in words when nothing waits', async () => {
    const empty = await fauxqs.createQueue('management-events-us-east-1-empty-dlq.fifo', {
      region: 'us-east-1',
      attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
    });
    const lines: string[] = [];
    const code = await runDlq(['--queue-url', empty.queueUrl], { write: (line) => lines.push(line), client: () => real });

    assert.equal(code, 0);
    assert.deepEqual(lines, [
      `${empty.queueUrl}: no message waiting; listed 0 (each hidden for at most 10 s while listed, then visible again; receive counts include this listing's receive)`,
    ]);
  });

  it('--redrive moves the messages to the queue that dead-letters into this one, named, as parked ones need', async () => {
    const lines: string[] = [];
    const { client, mock } = emulatorClientStubbingMoveTask();
    const code = await runDlq(['--queue-url', dlqUrl, '--redrive'], { write: (line) => lines.push(line), client: () => client });

    assert.equal(code, 0);
    assert.deepEqual(mock.commandCalls(ListDeadLetterSourceQueuesCommand)[0]?.args[0].input, { QueueUrl: dlqUrl });
    const calls = mock.commandCalls(StartMessageMoveTaskCommand);
    assert.equal(calls.length, 1);
    // A parked record has no DeadLetterQueueSourceArn: without a destination SQS could not move it.
    assert.deepEqual(calls[0]?.args[0].input, { SourceArn: dlqArn, DestinationArn: sourceArn });
    assert.match(
      lines.join('\n'),
      /redrive started: the messages move to arn:.*management-events-us-east-1\.fifo \(task task-handle-1\)/,
    );
  });

  it('--redrive --destination-arn moves them where it says, without looking for the source', async () => {
    const { client, mock } = emulatorClientStubbingMoveTask();
    const elsewhere = 'arn:aws:sqs:us-east-1:123456789012:replay.fifo';
    const code = await runDlq(['--queue-url', dlqUrl, '--redrive', '--destination-arn', elsewhere], {
      write: () => {},
      client: () => client,
    });

    assert.equal(code, 0);
    assert.equal(mock.commandCalls(ListDeadLetterSourceQueuesCommand).length, 0);
    assert.deepEqual(mock.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input, {
      SourceArn: dlqArn,
      DestinationArn: elsewhere,
    });
  });

  for (const [name, sources, expected] of [
    ['no queue', [], /no queue names it in its redrive policy; pass --destination-arn/],
    [
      'two queues',
      ['https://a/1/one.fifo', 'https://a/1/two.fifo'],
      /2 queues name it \(https:\/\/a\/1\/one\.fifo, .*\); pass --destination-arn/,
    ],
  ] as const) {
    it(`--redrive with ${name} dead-lettering into it asks for --destination-arn and moves nothing (exit 2)`, async () => {
      const { client, mock } = emulatorClientStubbingMoveTask(() => [...sources]);
      await assert.rejects(
        runDlq(['--queue-url', dlqUrl, '--redrive'], { write: () => {}, client: () => client }),
        (error: unknown) => error instanceof CliError && error.exitCode === 2 && expected.test(error.message),
      );
      assert.equal(mock.commandCalls(StartMessageMoveTaskCommand).length, 0);
    });
  }

  for (const [argv, expected] of [
    [['--destination-arn', 'arn:aws:sqs:us-east-1:123456789012:q.fifo'], /--destination-arn goes with --redrive/],
    [['--redrive', '--destination-arn', 'management-events.fifo'], /not the ARN of a FIFO queue/],
    [['--redrive', '--destination-arn', 'arn:aws:sqs:us-east-1:123456789012:standard'], /not the ARN of a FIFO queue/],
  ] as const) {
    it(`refuses ${argv.join(' ')} before it touches the queue (exit 2)`, async () => {
      const { client, mock } = emulatorClientStubbingMoveTask();
      await assert.rejects(
        runDlq(['--queue-url', dlqUrl, ...argv], { write: () => {}, client: () => client }),
        (error: unknown) => error instanceof CliError && error.exitCode === 2 && expected.test(error.message),
      );
      assert.equal(mock.calls().length, 0);
    });
  }

  it('names a queue that does not exist in one line (exit 2)', async () => {
    const { client } = emulatorClientStubbingMoveTask();
    await assert.rejects(
      runDlq(['--queue-url', `${dlqUrl}-missing`], { client: () => client }),
      (error: unknown) =>
        error instanceof CliError && error.exitCode === 2 && /-missing \(region us-east-1\): no such queue/.test(error.message),
    );
  });

  it('refuses a bad flag with the usage (exit 2)', async () => {
    await assert.rejects(
      runDlq(['--queue-url', dlqUrl, '--purge']),
      (error: unknown) =>
        error instanceof CliError &&
        error.exitCode === 2 &&
        /^Unknown option '--purge'[\s\S]*Usage: npm run dlq/.test(error.message),
    );
  });
  it('lists an emulator on this machine (--endpoint-url 127.0.0.1) without asking for AWS credentials', {
    timeout: 30_000,
  }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'no-aws-'));
    try {
      // No AWS variable and an empty home (no ~/.aws): nothing to find credentials in.
      const { code, stdout, stderr } = await runCli([DLQ_MAIN, '--endpoint-url', fauxqs.address, '--queue-url', dlqUrl], {
        input: '',
        replaceEnv: true,
        env: { PATH: process.env.PATH, HOME: home },
      }).exited;

      assert.equal(code, 0, stderr);
      assert.match(stdout, /: about 3 messages waiting; listed 3 /);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
