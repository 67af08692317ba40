import { createHash } from 'node:crypto';
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

/*
 * Real SQS accepts every character from U+10000 up (an emoji in a tag value); the local emulator (fauxqs) refuses
 * them. Only for the local queue, a body the emulator would refuse travels as base64 with this attribute, and the
 * local poller turns it back into the original text before the function sees it: the function, and the subscriber,
 * get the event byte for byte. The deployed path never encodes, and its poller never decodes.
 */
export const EMULATOR_ENCODING_ATTRIBUTE = 'x-local-body-encoding';
// What fauxqs accepts (the XML 1.0 characters of the SQS documentation, minus those beyond U+FFFF).
// biome-ignore lint/suspicious/noControlCharactersInRegex: tab, LF and CR are named because they are allowed.
const EMULATOR_REFUSES = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/;

export interface EmulatorMessage {
  readonly MessageBody: string;
  readonly MessageAttributes?: Record<string, MessageAttributeValue>;
}

export function encodeForEmulator(body: string): EmulatorMessage {
  if (!EMULATOR_REFUSES.test(body)) return { MessageBody: body };
  return {
    MessageBody: Buffer.from(body, 'utf8').toString('base64'),
    MessageAttributes: { [EMULATOR_ENCODING_ATTRIBUTE]: { DataType: 'String', StringValue: 'base64' } },
  };
}

/** A body as it was before `encodeForEmulator`, given the value of its encoding attribute. */
export function decodeBody(body: string, encoding: string | undefined): string {
  return encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
}

/** The message as it was sent before `encodeForEmulator`: original body, its MD5, no encoding attribute. */
export function decodeFromEmulator(message: Message): Message {
  const encoding = message.MessageAttributes?.[EMULATOR_ENCODING_ATTRIBUTE]?.StringValue;
  if (encoding !== 'base64' || message.Body === undefined) return message;
  const body = decodeBody(message.Body, encoding);
  const { [EMULATOR_ENCODING_ATTRIBUTE]: _encoding, ...attributes } = message.MessageAttributes ?? {};
  return {
    ...message,
    Body: body,
    MD5OfBody: createHash('md5').update(body, 'utf8').digest('hex'),
    MessageAttributes: attributes,
  };
}
