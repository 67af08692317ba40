import { Annotations, CliCredentialsStackSynthesizer, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { FORWARDER_ASSETS_WARNING, ManagementEventsForwarder, type ManagementEventsForwarderProps } from './forwarder.ts';

export const MEMBER_STACK_NAME = 'management-events-member';

export interface MemberStackProps extends StackProps {
  readonly forwarder: ManagementEventsForwarderProps;
  /**
   * With the inventory (Lambda code assets) deployed by a StackSet: the functions' code is read from the bucket
   * `<prefix>-<region>` of each region, where `cdk publish-assets` puts it, instead of each account's CDK bootstrap
   * bucket (docs/organizations.md).
   * @default - the bootstrap bucket of the account and region deployed to
   */
  readonly assetsBucketPrefix?: string;
}

/**
 * The app's stack for a member account of an organization: the forwarder, in one template for every account and
 * region, deployable by a service-managed StackSet to accounts never bootstrapped for CDK: environment-agnostic (the
 * bus ARN names AWS::Region), no parameters, no bootstrap version rule, no assets. With the inventory it has Lambda
 * code assets: `cdk deploy` per member account, or a StackSet with `assetsBucketPrefix`.
 */
export class MemberStack extends Stack {
  readonly forwarder: ManagementEventsForwarder;

  constructor(scope: Construct, id: string, { forwarder, assetsBucketPrefix, ...props }: MemberStackProps) {
    super(scope, id, {
      ...props,
      // CLI credentials and no BootstrapVersion parameter or rule; the tests check that no asset creeps in unasked.
      synthesizer: new CliCredentialsStackSynthesizer(
        assetsBucketPrefix === undefined ? {} : { fileAssetsBucketName: `${assetsBucketPrefix}-\${AWS::Region}` },
      ),
      analyticsReporting: false,
    });
    // `Default`: the construct adds nothing to its resources' logical IDs, which stay those of earlier releases.
    this.forwarder = new ManagementEventsForwarder(this, 'Default', forwarder);
    if (assetsBucketPrefix !== undefined && this.forwarder.inventory !== undefined) {
      // The forwarder's advice (publish the assets somewhere) is done here: say what this template needs instead.
      Annotations.of(this.forwarder).acknowledgeWarning(FORWARDER_ASSETS_WARNING, 'the assets are read from a bucket per region');
      // On the construct, as every other warning: one on a stack makes the CLI print its creation trace.
      Annotations.of(this.forwarder).addWarningV2(
        'member:assets-bucket',
        `inventory: this template reads the functions' code from the bucket ${assetsBucketPrefix}-<region> of each region it is deployed to: publish it there (cdk publish-assets, in each region) before you create or update the StackSet, and again after every change of the functions; the buckets must let the organization's accounts read them (docs/organizations.md)`,
      );
    }
  }
}
