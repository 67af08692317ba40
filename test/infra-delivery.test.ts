import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../infra/app.ts';
import { ContextError } from '../infra/config.ts';
import { onlyTemplate, REDIS_URL, synthesize } from './helpers/cdk-app.ts';

/*
 * What the stack gives the sync function so that poison records are parked and transient failures back off (issue
 * 22): the dead-letter queue, the right to send there and to change its queue's visibility, and the idle limit.
 */

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

function functionTemplate(context: Record<string, unknown> = {}): Template {
  return onlyTemplate(synthesize({ regions: 'eu-west-1', redisUrl: REDIS_URL, ...context }));
}

function queueId(template: Template, name: string): string {
  const [id] = Object.keys(template.findResources('AWS::SQS::Queue', { Properties: { QueueName: name } }));
  assert.ok(id !== undefined, name);
  return id;
}

function functionStatements(template: Template): Statement[] {
  const [role] = Object.keys(
    template.findResources('AWS::IAM::Role', { Properties: { Description: 'management-events sync function' } }),
  );
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

function environment(template: Template): Record<string, unknown> {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }));
  return fn?.Properties.Environment.Variables as Record<string, unknown>;
}

describe('the sync function and its dead-letter queue', () => {
  const template = functionTemplate();
  const dlq = queueId(template, 'management-events-eu-west-1-dlq.fifo');
  const queue = queueId(template, 'management-events-eu-west-1.fifo');
  const statements = functionStatements(template);
  const on = (id: string) => statements.filter((statement) => JSON.stringify(statement.Resource).includes(`"${id}"`));

  it('tells the function where its FIFO dead-letter queue is', () => {
    assert.deepEqual(environment(template).DEAD_LETTER_QUEUE_URL, { Ref: dlq });
  });

  it('lets the function send to the dead-letter queue, and do nothing else there', () => {
    assert.deepEqual(on(dlq), [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [dlq, 'Arn'] } }]);
  });

  it('lets the function change the visibility of its own queue, to back off a transient failure', () => {
    const actions = on(queue).flatMap((statement) => [statement.Action].flat());
    assert.ok(actions.includes('sqs:ChangeMessageVisibility'), actions.join());
  });
});

describe('redisMaxIdleSeconds', () => {
  it('replaces a connection idle for 300 s by default, below the 350 s after which AWS forgets an idle flow', () => {
    assert.equal(environment(functionTemplate()).REDIS_MAX_IDLE_SECONDS, '300');
  });

  it('passes the whole seconds given, 0 (never) included', () => {
    for (const value of ['0', '3600']) {
      assert.equal(environment(functionTemplate({ redisMaxIdleSeconds: value })).REDIS_MAX_IDLE_SECONDS, value);
    }
  });

  it('refuses anything but whole seconds from 0 to 3600, naming the value', () => {
    for (const value of ['3601', '-1', '1.5', 'five']) {
      assert.throws(
        () => buildApp(new App({ context: { regions: 'eu-west-1', redisUrl: REDIS_URL, redisMaxIdleSeconds: value } })),
        (error: unknown) => {
          assert.ok(error instanceof ContextError);
          assert.deepEqual(error.problems, [`redisMaxIdleSeconds must be a whole number from 0 to 3600, got "${value}"`]);
          return true;
        },
      );
    }
  });

  it("says that it belongs in the poller's environment with consumer=poller", () => {
    const app = buildApp(new App({ context: { regions: 'eu-west-1', consumer: 'poller', redisMaxIdleSeconds: '120' } }));
    const [stack] = app.node.children.filter((child) => child.node.id === 'management-events-sync-eu-west-1');
    Annotations.fromStack(stack as never).hasWarning(
      '*',
      Match.stringLikeRegexp(
        "redisMaxIdleSeconds configures the sync function.*REDIS_MAX_IDLE_SECONDS in the poller's environment",
      ),
    );
  });
});
