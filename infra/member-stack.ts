import { CliCredentialsStackSynthesizer, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ManagementEventsForwarder, type ManagementEventsForwarderProps } from './forwarder.ts';

export const MEMBER_STACK_NAME = 'management-events-member';

export interface MemberStackProps extends StackProps {
  readonly forwarder: ManagementEventsForwarderProps;
}

/**
 * The app's stack for a member account of an organization: the forwarder, in one template for every account and
 * region, deployable by a service-managed StackSet to accounts never bootstrapped for CDK: environment-agnostic (the
 * bus ARN names AWS::Region), no parameters, no bootstrap version rule, no assets.
 */
export class MemberStack extends Stack {
  readonly forwarder: ManagementEventsForwarder;

  constructor(scope: Construct, id: string, { forwarder, ...props }: MemberStackProps) {
    super(scope, id, {
      ...props,
      // CLI credentials and no BootstrapVersion parameter or rule; the tests check that no asset creeps in.
      synthesizer: new CliCredentialsStackSynthesizer(),
      analyticsReporting: false,
    });
    // `Default`: the construct adds nothing to its resources' logical IDs, which stay those of earlier releases.
    this.forwarder = new ManagementEventsForwarder(this, 'Default', forwarder);
  }
}
