import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { secretRegion } from './region-settings.ts';

/** A complete secret ARN ends with the 6 random characters Secrets Manager appends to the name. */
const COMPLETE_SECRET_ARN = /-[A-Za-z0-9]{6}$/;

/**
 * The ENI actions Lambda needs to run a function in a VPC, and nothing else: AWSLambdaVPCAccessExecutionRole would
 * also grant log writes on every log group in the account.
 */
export function grantVpcNetworkInterfaces(role: iam.Role): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: ['*'],
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'The ENI actions Lambda needs for VPC placement: EC2 Describe* calls support no resource-level permissions, and the ENIs are created by Lambda with IDs unknown at deploy time.',
  });
}

/**
 * Read access to the Redis secret, whether its ARN is complete (`name-AbCdEf`) or partial (`name`, granted as
 * `name-??????`), and decrypt with its customer-managed key only when Secrets Manager in the secret's region asks.
 * A name that itself ends in a hyphen and 6 letters or digits reads as a complete ARN: pass the complete ARN then.
 */
export function grantRedisSecret(
  scope: Construct,
  grantee: iam.IGrantable,
  secretArn: string,
  kmsKeyArn: string | undefined,
): void {
  const secret = COMPLETE_SECRET_ARN.test(secretArn)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'RedisSecret', secretArn)
    : secretsmanager.Secret.fromSecretPartialArn(scope, 'RedisSecret', secretArn);
  secret.grantRead(grantee);
  if (kmsKeyArn === undefined) return;
  const region = secretRegion(secretArn) ?? Stack.of(scope).region;
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [kmsKeyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
    }),
  );
}
