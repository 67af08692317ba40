import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

/**
 * Where the describer and the reconcile function send the inventory's messages: the region's FIFO queue, or, in a
 * member account of an organization, the central account's default bus (docs/organizations.md).
 */
export type InventoryDestination = { readonly queue: sqs.IQueue } | { readonly centralBusArn: string };

/**
 * Lets `role` send to the destination and nothing else there, and returns the environment variable that names it
 * (the functions read QUEUE_URL or CENTRAL_BUS_ARN, exactly one).
 */
export function sendToDestination(role: iam.IRole, destination: InventoryDestination): Record<string, string> {
  if ('queue' in destination) {
    // Only SendMessage (SendMessageBatch is authorized by it): not the GetQueueAttributes/GetQueueUrl of grantSendMessages.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [destination.queue.queueArn] }));
    return { QUEUE_URL: destination.queue.queueUrl };
  }
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [destination.centralBusArn] }));
  return { CENTRAL_BUS_ARN: destination.centralBusArn };
}
