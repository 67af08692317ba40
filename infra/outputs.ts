import { CfnOutput, type CfnOutputProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * A stack output named `key` wherever the construct sits: CDK would prefix it with the construct path and a hash
 * (`ReconcileRunNowCommandD8A3060F`), and the docs, scripts and runbooks name it by `key`.
 */
export function output(scope: Construct, key: string, props: Omit<CfnOutputProps, 'key'>): CfnOutput {
  return new CfnOutput(scope, key, { ...props, key });
}
