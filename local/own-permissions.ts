import type { Redis } from 'ioredis';
import { inventoryKey, snapshotRunKey } from '../lambda/inventory-keys.ts';
import { SCRIPT_KEY } from '../lambda/redis-script.ts';
import { CliError } from './cli.ts';
import { localRedisClient } from './local-redis.ts';
import { redisAddress } from './preflight.ts';

/** What npm start itself does with REDIS_URL's user, beside the function: the channels it subscribes to, what it reads. */
export interface OwnUse {
  /** The subscribers' channel patterns (`<prefix>*`): what the inventory receives, and its change feed. */
  readonly patterns: readonly string[];
  /** The durable mirror's streams, read at the end (STREAM_RETENTION_HOURS): their key pattern. */
  readonly streams?: string;
  /** The inventory's records and the reconcile run's counts, read at the end (--inventory). */
  readonly inventory?: { readonly account: string; readonly region: string };
}

/** One command as npm start runs it (on a key that may not exist: nothing is written), and the ACL rules it needs. */
interface OwnCommand {
  readonly name: string;
  readonly rules: readonly string[];
  run(redis: Redis): Promise<unknown>;
}

function ownCommands(use: OwnUse): OwnCommand[] {
  const commands: OwnCommand[] = [];
  if (use.streams !== undefined) {
    const streams = use.streams;
    commands.push(
      { name: 'SCAN', rules: ['+scan'], run: (redis) => redis.scan('0', 'MATCH', streams, 'COUNT', 1) },
      {
        name: 'XINFO STREAM',
        rules: ['+xinfo|stream', `~${streams}`],
        run: (redis) => redis.xinfo('STREAM', streams.replace(/\*$/, 'npm-start-check')),
      },
    );
  }
  if (use.inventory !== undefined) {
    const { account, region } = use.inventory;
    commands.push(
      { name: 'SCAN', rules: ['+scan'], run: (redis) => redis.scan('0', 'MATCH', inventoryKey('*', '*'), 'COUNT', 1) },
      {
        name: 'HGETALL',
        rules: ['+hgetall', `~${SCRIPT_KEY}:inventory*`],
        run: (redis) => redis.hgetall(inventoryKey(account, region)),
      },
      {
        name: 'HMGET',
        rules: ['+hmget', `~${SCRIPT_KEY}:snapshot:*`],
        run: (redis) => redis.hmget(snapshotRunKey('npm-start-check', account, region), 'created'),
      },
    );
  }
  // Last: a connection that subscribed runs nothing else.
  for (const pattern of use.patterns) {
    commands.push({
      name: `PSUBSCRIBE ${pattern}`,
      rules: ['+psubscribe', `&${pattern}`],
      run: (redis) => redis.psubscribe(pattern),
    });
  }
  return commands;
}

/**
 * The least ACL user of docs/redis.md lets the function run, not npm start's own subscribers and end-of-run reads.
 * Each of those is tried once at the start (nothing is written), so that a user without them learns in one line, exit
 * 2, every rule to add, rather than a run that hangs or fails at its end. Other errors are the run's to report.
 */
export async function checkOwnPermissions(redisUrl: string, use: OwnUse): Promise<void> {
  const redis = localRedisClient(redisUrl, { maxRetriesPerRequest: 0 });
  const refused: OwnCommand[] = [];
  try {
    await redis.connect();
    for (const command of ownCommands(use)) {
      try {
        await command.run(redis);
      } catch (error) {
        if (/NOPERM/.test(String(error))) refused.push(command);
      }
    }
  } finally {
    redis.disconnect();
  }
  if (refused.length === 0) return;
  const user = decodeURIComponent(new URL(redisUrl).username) || 'default';
  const names = [...new Set(refused.map((command) => command.name))];
  const rules = [...new Set(refused.flatMap((command) => command.rules))];
  throw new CliError(
    `Redis at ${redisAddress(redisUrl)}: user ${user} may not ${names.join(', ')}, which npm start runs itself with REDIS_URL's user (its subscribers, what it shows at the end; the deployed function does not): for local runs, ACL SETUSER ${user} ${rules.join(' ')}`,
    2,
  );
}
