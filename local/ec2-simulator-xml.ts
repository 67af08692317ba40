/*
 * EC2's XML answers, written from the model the SDK reads them with: each member's element name comes from the
 * operation's own schema in @aws-sdk/client-ec2 (its `xmlName` traits, list items as `<item>`), so whatever field the
 * simulator holds parses back, through the real client, into the object it was written from.
 */
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
// The schema walker the SDK's own XML deserializer uses (a dependency of every @aws-sdk client, not of this project).
import { NormalizedSchema } from '@smithy/core/schema';

/** Each action's command class: its `schema` is the operation's model (input and output shapes). */
const COMMANDS = {
  DescribeInstances: DescribeInstancesCommand,
  DescribeVpcs: DescribeVpcsCommand,
  DescribeSubnets: DescribeSubnetsCommand,
  DescribeNetworkInterfaces: DescribeNetworkInterfacesCommand,
  DescribeVolumes: DescribeVolumesCommand,
  DescribeAddresses: DescribeAddressesCommand,
} as const;

export type SimulatedAction = keyof typeof COMMANDS;
export const SIMULATED_ACTIONS = Object.keys(COMMANDS) as SimulatedAction[];

const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** `<DescribeVpcsResponse>` with the output members, as EC2 answers a successful call. */
export function responseXml(action: SimulatedAction, output: object, requestId: string): string {
  const Command = COMMANDS[action] as unknown as new (input: object) => { schema: readonly unknown[] };
  const command = new Command({});
  // An operation schema: [9, namespace, name, traits, input, output].
  const outputSchema = NormalizedSchema.of(command.schema[5] as Parameters<typeof NormalizedSchema.of>[0]);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XMLNS}"><requestId>${requestId}</requestId>${members(outputSchema, output)}</${action}Response>`;
}

/** EC2's error envelope (`<Response><Errors>`), which the SDK turns into an exception named after the code. */
export function errorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlText(code)}</Code><Message>${xmlText(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}

function members(schema: NormalizedSchema, value: object): string {
  let xml = '';
  for (const [name, member] of schema.structIterator()) {
    const item = (value as Record<string, unknown>)[name];
    if (item === undefined || item === null) continue;
    const tag = member.getMemberTraits().xmlName ?? name;
    xml += `<${tag}>${content(member, item)}</${tag}>`;
  }
  return xml;
}

function content(schema: NormalizedSchema, value: unknown): string {
  if (schema.isStructSchema()) return members(schema, value as object);
  if (schema.isListSchema()) {
    const itemSchema = schema.getValueSchema();
    const tag = itemSchema.getMergedTraits().xmlName ?? 'member';
    return (value as unknown[]).map((item) => `<${tag}>${content(itemSchema, item)}</${tag}>`).join('');
  }
  if (schema.isTimestampSchema()) return value instanceof Date ? value.toISOString() : xmlText(String(value));
  return xmlText(String(value));
}

function xmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
