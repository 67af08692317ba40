import { CfnResource, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * Lets every account of the organization put events on this account's default bus in the stack's region.
 * A plain CfnResource: the generated CfnEventBusPolicy prints a deprecation warning (for its legacy `principal`
 * property, which we do not use) on every synth, when cdk-nag reads its properties.
 */
export function allowOrganizationOnDefaultBus(scope: Construct, organizationId: string): CfnResource {
  return new CfnResource(scope, 'OrganizationPutEvents', {
    type: 'AWS::Events::EventBusPolicy',
    properties: {
      EventBusName: 'default',
      StatementId: 'management-events-organization',
      Statement: {
        Effect: 'Allow',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: Stack.of(scope).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }),
        Condition: { StringEquals: { 'aws:PrincipalOrgID': organizationId } },
      },
    },
  });
}
