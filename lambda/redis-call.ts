import { OutcomeUnknownError, RedisPublishError } from './errors.ts';
import type { GroupPublishResult, OutgoingMessage, PublishOptions } from './publish-batch.ts';
import { AUTH_ERROR, type Client, type RedisConnection } from './redis-connection.ts';
import { SCRIPT_KEY, scriptFor } from './redis-script.ts';

export type Groups = readonly (readonly OutgoingMessage[])[];
/** The results of one call; `retry`: refused before it ran, for a reason the connection has now dealt with. */
export type CallOutcome = { readonly results: GroupPublishResult[]; readonly retry?: boolean };

const NOT_WRITTEN = /enableOfflineQueue options is false/;
const COMPILE_ERROR = /Error compiling script/i;
const CLUSTER_REDIRECT = /^(MOVED|ASK|CROSSSLOT|CLUSTERDOWN)\b/;

/** The script's KEYS and ARGV for a batch's groups (see redis-script.ts). */
export function scriptArguments(groups: Groups, options: PublishOptions): { keys: string[]; args: string[]; writes: boolean } {
  const keys: string[] = [];
  const args = [options.stopOnZeroReceivers ? '1' : '0', options.streamMinId ?? '0'];
  for (const messages of groups) {
    args.push(String(messages.length));
    for (const message of messages) {
      const index = message.stream === undefined ? 0 : keys.indexOf(message.stream) + 1 || keys.push(message.stream);
      args.push(message.channel, String(index), message.body);
    }
  }
  // Only the fixed key: the call appends to no stream, so it writes nothing.
  const writes = keys.length > 0;
  if (!writes) keys.push(SCRIPT_KEY);
  return { keys, args, writes };
}

/** One script call for every group of the batch, on a ready client; every failure becomes failed results. */
export async function runScriptCall(
  connection: RedisConnection,
  client: Client,
  groups: Groups,
  options: PublishOptions,
): Promise<CallOutcome> {
  const { keys, args, writes } = scriptArguments(groups, options);
  const clusterBefore = connection.cluster;
  const authenticating = connection.authenticate(client, options.deadline);
  if (connection.pre7) {
    const refused = await primaryRefusal(connection, client, options.deadline, authenticating);
    if (refused !== undefined) return { results: failAll(groups, refused) };
  }
  const detecting = connection.cluster === undefined ? connection.detect(client, options.deadline) : undefined;
  let reply: unknown;
  try {
    reply = await connection.answer(
      client.eval(scriptFor(connection.pre7, writes), keys.length, ...keys, ...args),
      options.deadline,
    );
  } catch (error) {
    await detecting;
    const refused = await authenticating;
    if (refused !== undefined) return { results: failAll(groups, refused) };
    return failedOutcome(connection, error as Error, groups, clusterBefore);
  }
  await detecting;
  const replies = reply as unknown[][];
  return {
    results: groups.map((_, index) => {
      const { receivers, error } = parseGroupReply(replies[index] ?? []);
      // In a cluster PUBLISH counts only the subscribers of the node that ran it: the count says nothing.
      return { receivers: connection.cluster ? receivers.map(() => null) : receivers, error };
    }),
  };
}

/** Redis < 7 runs the script on a replica too: ask first, publish only on the primary. */
async function primaryRefusal(
  connection: RedisConnection,
  client: Client,
  deadline: number,
  authenticating: Promise<Error | undefined>,
): Promise<Error | undefined> {
  const role = await connection.answer(client.call('ROLE'), deadline).catch((error: Error) => error);
  if (role instanceof Error) {
    const refused = await authenticating;
    if (refused !== undefined) return refused;
    return role instanceof OutcomeUnknownError
      ? role
      : new RedisPublishError(`cannot check the role of Redis < 7 (ROLE): ${role.message}`);
  }
  const [name] = role as unknown[];
  if (name === 'master') return undefined;
  client.disconnect(true);
  return new RedisPublishError(`READONLY: Redis answered as a ${String(name)}, not the primary: reconnecting`);
}

function failedOutcome(
  connection: RedisConnection,
  error: Error,
  groups: Groups,
  clusterBefore: boolean | undefined,
): CallOutcome {
  if (error.name === 'ReplyError') {
    // Refused before it ran, and the connection has since learned what Redis is (Redis < 7, a cluster): once more.
    let retry = false;
    if (COMPILE_ERROR.test(error.message) && connection.learnPre7()) retry = true;
    if (CLUSTER_REDIRECT.test(error.message) && connection.cluster === true && clusterBefore !== true) retry = true;
    if (AUTH_ERROR.test(error.message)) connection.noteAuthRefused();
    return { results: failAll(groups, new RedisPublishError(`Redis refused the call: ${error.message}`)), retry };
  }
  if (error instanceof OutcomeUnknownError) return { results: failAll(groups, error, true) };
  if (error instanceof RedisPublishError || NOT_WRITTEN.test(error.message)) {
    return { results: failAll(groups, error instanceof RedisPublishError ? error : new RedisPublishError(error.message)) };
  }
  // Written, then the connection closed before the answer: Redis may have run it.
  return {
    results: failAll(groups, new OutcomeUnknownError(`the connection closed before Redis answered: ${error.message}`), true),
  };
}

/** Every group failed alike; `unknown`: the call went out, so each message may have been published. */
export function failAll(groups: Groups, error: Error, unknown = false): GroupPublishResult[] {
  return groups.map((messages) => (unknown ? { receivers: [], error, unknown: messages.length } : { receivers: [], error }));
}

function parseGroupReply(reply: unknown[]): GroupPublishResult {
  const receivers: number[] = [];
  for (const item of reply) {
    if (typeof item === 'number') {
      receivers.push(item);
    } else {
      return { receivers, error: new RedisPublishError(`Redis refused: ${String(item)}`) };
    }
  }
  return { receivers };
}
