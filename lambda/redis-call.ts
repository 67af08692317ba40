import { OutcomeUnknownError, PacedError, RedisPublishError } from './errors.ts';
import {
  FEED_BUDGET_KEY,
  inventoryKey,
  purgedKey,
  seededKey,
  snapshotPartsKey,
  snapshotRunKey,
  snapshotSeenKey,
  tombstonesKey,
} from './inventory-keys.ts';
import type {
  GroupPublishResult,
  InventoryApplied,
  InventoryMessage,
  MessageAnswer,
  OutgoingMessage,
  PublishOptions,
} from './publish-batch.ts';
import { AUTH_ERROR, type Client, type RedisConnection } from './redis-connection.ts';
import { SCRIPT_KEY, scriptFor } from './redis-script.ts';

export type Groups = readonly (readonly OutgoingMessage[])[];
/** The results of one call; `retry`: refused before it ran, for a reason the connection has now dealt with. */
export type CallOutcome = { readonly results: GroupPublishResult[]; readonly retry?: boolean };

const NOT_WRITTEN = /enableOfflineQueue options is false/;
/** The feed's budget holds this many seconds of its rate: well under the 8 MB Redis keeps for a subscriber at 1 MB/s. */
const FEED_BURST_SECONDS = 4;
const SPARE_MARGIN_MS = 10_000;
const PACED = /^PACED (\d+) ms/;
const COMPILE_ERROR = /Error compiling script/i;
const CLUSTER_REDIRECT = /^(MOVED|ASK|CROSSSLOT|CLUSTERDOWN)\b/;

/** The script's KEYS and ARGV for a batch's groups (see redis-script.ts); `writes`: it touches a key. */
export function scriptArguments(
  groups: Groups,
  options: PublishOptions,
  now = Date.now(),
): { keys: string[]; args: string[]; writes: boolean } {
  const keys: string[] = [];
  const key = (name: string) => keys.indexOf(name) + 1 || keys.push(name);
  const args = [options.stopOnZeroReceivers ? '1' : '0', options.streamMinId ?? '0', String(now)];
  for (const messages of groups) {
    const entries: string[] = [];
    for (const message of messages) {
      const stream = message.stream === undefined ? 0 : key(message.stream);
      if ('inventory' in message) entries.push(...inventoryEntries(message, stream, key));
      else entries.push('p', message.channel, String(stream), message.body);
    }
    args.push(String(messages.length), String(entries.length), ...entries);
  }
  // Only the fixed key: the call touches no key, so it writes nothing.
  const writes = keys.length > 0;
  if (!writes) keys.push(SCRIPT_KEY);
  return { keys, args, writes };
}

/** 'i', the header (where and what), then each observation as id, item JSON, deleted reason. */
function inventoryEntries(message: InventoryMessage, stream: number, key: (name: string) => number): string[] {
  const { account, region, type, observedAt, source, observations, snapshot } = message.inventory;
  const rate = message.feedBytesPerSecond;
  const header = {
    hash: key(inventoryKey(account, region)),
    tombstones: key(tombstonesKey(account, region)),
    purged: key(purgedKey(account, region)),
    feed: rate === 0 ? 0 : key(FEED_BUDGET_KEY),
    rate,
    burst: rate * FEED_BURST_SECONDS,
    stream,
    channel: message.channel,
    account,
    region,
    type,
    observedAt,
    source,
    ttl: message.tombstoneHours * 3_600_000,
    ...(snapshot === undefined
      ? {}
      : {
          // Records observed this little before the listing began are spared too: EC2 may not list them yet.
          spareFrom: new Date(Date.parse(observedAt) - SPARE_MARGIN_MS).toISOString(),
          snapshot: {
            seen: key(snapshotSeenKey(snapshot.id, account, region, type)),
            received: key(snapshotPartsKey(snapshot.id, account, region, type)),
            run: key(snapshotRunKey(snapshot.id, account, region)),
            seeded: key(seededKey(account, region, type)),
            part: snapshot.part,
            parts: snapshot.parts,
            types: snapshot.types,
          },
        }),
  };
  const entries = ['i', JSON.stringify(header), String(observations.length)];
  for (const { id, item, deleted } of observations) entries.push(id, item ?? '', deleted ?? '');
  return entries;
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
  // In a cluster PUBLISH counts only the subscribers of the node that ran it: the count says nothing.
  return { results: groups.map((_, index) => parseGroupReply(replies[index] ?? [], connection.cluster === true)) };
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
  return groups.map((messages) => (unknown ? { answers: [], error, unknown: messages.length } : { answers: [], error }));
}

function parseGroupReply(reply: unknown[], cluster: boolean): GroupPublishResult {
  const answers: MessageAnswer[] = [];
  for (const item of reply) {
    if (typeof item === 'number') {
      answers.push(cluster ? null : item);
    } else if (Array.isArray(item)) {
      answers.push(inventoryApplied(item.map(Number)));
    } else {
      const text = String(item);
      const paced = PACED.exec(text);
      if (paced !== null) {
        return { answers, error: new PacedError(text, Math.max(1, Math.ceil(Number(paced[1]) / 1000))) };
      }
      return { answers, error: new RedisPublishError(`Redis refused: ${text}`) };
    }
  }
  return { answers };
}

/** The script's counts for an inventory message, in its order (redis-script.ts, `inventory`). */
function inventoryApplied(values: readonly number[]): InventoryApplied {
  const [created = 0, updated = 0, deleted = 0, same = 0, stale = 0, feedBytes = 0] = values;
  const [typeDone = 0, runDone = 0, seeded = 0, runCreated = 0, runUpdated = 0, runDeleted = 0, loaded = 0] = values.slice(6);
  const counts = { created, updated, deleted, same, stale, feedBytes };
  // Six values for a description; seven more for a snapshot part.
  if (values.length <= 6) return counts;
  return {
    ...counts,
    snapshot: {
      typeComplete: typeDone === 1,
      runComplete: runDone === 1,
      seeded: seeded === 1,
      run: { created: runCreated, updated: runUpdated, deleted: runDeleted, loaded },
    },
  };
}
