import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureLogs } from './helpers/log-capture.ts';

/** An error shaped as ioredis shapes a failed AUTH: the command and its arguments, the password among them. */
function authError() {
  return Object.assign(new Error('WRONGPASS invalid username-password pair'), {
    name: 'ReplyError',
    command: { name: 'auth', args: ['sync', 'Sup3r-secret'] },
  });
}

describe('log lines', () => {
  it('write any Error, in any field and at any depth, as its name and message only', () => {
    const logs = captureLogs();

    logs.logger.error('redis connection error', { error: authError(), cause: authError(), nested: { list: [authError()] } });

    assert.ok(!logs.lines[0]?.includes('Sup3r-secret'), logs.lines[0]);
    const entry = logs.entries()[0] as Record<string, unknown>;
    const clean = { name: 'ReplyError', message: 'WRONGPASS invalid username-password pair' };
    assert.deepEqual(entry.error, clean);
    assert.deepEqual(entry.cause, clean);
    assert.deepEqual(entry.nested, { list: [clean] });
  });
});
