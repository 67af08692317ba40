import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
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
 * The secret named by a context ARN, complete (`name-AbCdEf`) or partial (`name`), with its customer-managed key. A
 * name that itself ends in a hyphen and 6 letters or digits reads as a complete ARN: pass the complete ARN then.
 */
export function importRedisSecret(scope: Construct, secretArn: string, kmsKeyArn: string | undefined): secretsmanager.ISecret {
  const encryptionKey = kmsKeyArn === undefined ? undefined : kms.Key.fromKeyArn(scope, 'RedisSecretKey', kmsKeyArn);
  return secretsmanager.Secret.fromSecretAttributes(scope, 'RedisSecret', {
    ...(COMPLETE_SECRET_ARN.test(secretArn) ? { secretCompleteArn: secretArn } : { secretPartialArn: secretArn }),
    encryptionKey,
  });
}

/**
 * Read access to the Redis secret, as statements that a role and a managed policy take alike: by its complete ARN,
 * or by a partial one with Secrets Manager's suffix wildcard (`name-??????`); and decrypt with its customer-managed
 * key only when Secrets Manager in the secret's own region asks (the secret may live in another region than the
 * reader; CDK's grantRead would name the reader's).
 */
export function redisSecretReadStatements(secret: secretsmanager.ISecret): iam.PolicyStatement[] {
  const statements = [
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
    }),
  ];
  const key = secret.encryptionKey;
  if (key !== undefined) {
    const region = (Token.isUnresolved(secret.secretArn) ? undefined : secretRegion(secret.secretArn)) ?? Stack.of(secret).region;
    statements.push(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
      }),
    );
  }
  return statements;
}
