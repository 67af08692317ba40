/**
 * The errors SQS answers with, as its JSON protocol carries them: `__type` names the error shape, the HTTP status is
 * the shape's, and `x-amzn-query-error` gives the code of the older query protocol (the SDK's `error.Code`). Status
 * and query code come from the SQS model in @aws-sdk/client-sqs; codes SQS shares with other services
 * (InvalidParameterValue, MissingParameter) are not in the model and answer 400 under their own name.
 */
const WIRE = {
  QueueDoesNotExist: { status: 400, queryCode: 'AWS.SimpleQueueService.NonExistentQueue' },
  QueueNameExists: { status: 400, queryCode: 'QueueAlreadyExists' },
  ReceiptHandleIsInvalid: { status: 404, queryCode: 'ReceiptHandleIsInvalid' },
  MessageNotInflight: { status: 400, queryCode: 'AWS.SimpleQueueService.MessageNotInflight' },
  BatchEntryIdsNotDistinct: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' },
  BatchRequestTooLong: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchRequestTooLong' },
  EmptyBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.EmptyBatchRequest' },
  InvalidBatchEntryId: { status: 400, queryCode: 'AWS.SimpleQueueService.InvalidBatchEntryId' },
  TooManyEntriesInBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest' },
  UnsupportedOperation: { status: 400, queryCode: 'AWS.SimpleQueueService.UnsupportedOperation' },
} as const;
const wire: Readonly<Record<string, { readonly status: number; readonly queryCode: string }>> = WIRE;

export type SqsErrorCode =
  | keyof typeof WIRE
  | 'InvalidAttributeName'
  | 'InvalidAttributeValue'
  | 'InvalidMessageContents'
  | 'InvalidParameterValue'
  | 'MissingParameter';

/** A refusal the client caused (SQS's `SenderFault`). */
export class SqsError extends Error {
  override readonly name = 'SqsError';
  readonly code: SqsErrorCode;

  constructor(code: SqsErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  get status(): number {
    return wire[this.code]?.status ?? 400;
  }

  get queryErrorHeader(): string {
    return `${wire[this.code]?.queryCode ?? this.code};Sender`;
  }
}

export function missingParameter(name: string): SqsError {
  return new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
}

export function invalidParameter(name: string, value: unknown, reason: string): SqsError {
  return new SqsError('InvalidParameterValue', `Value ${String(value)} for parameter ${name} is invalid. Reason: ${reason}`);
}
