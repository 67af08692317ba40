import type { Redis } from 'ioredis';

/** The least ACL user of docs/redis.md: the raw events' channels, the script's one key, EVAL and PUBLISH. */
export const LEAST_ACL_RULES = [
  'resetchannels',
  '&topic-account-management-events-*',
  'resetkeys',
  '~{management-events-sync}',
  '+eval',
  '+publish',
] as const;

/** Creates (or resets) `name` with `password` and those rules, plus any `extra`. */
export async function setLeastAclUser(admin: Redis, name: string, password: string, extra: readonly string[] = []) {
  await admin.call('ACL', 'SETUSER', name, 'reset', 'on', `>${password}`, ...LEAST_ACL_RULES, ...extra);
}
