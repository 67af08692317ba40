import type { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';

/** Lets every account of the organization put events on this account's default bus in the stack's region. */
export function allowOrganizationOnDefaultBus(stack: Stack, organizationId: string): events.CfnEventBusPolicy {
  return new events.CfnEventBusPolicy(stack, 'OrganizationPutEvents', {
    eventBusName: 'default',
    statementId: 'management-events-organization',
    statement: {
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }),
      Condition: { StringEquals: { 'aws:PrincipalOrgID': organizationId } },
    },
  });
}
