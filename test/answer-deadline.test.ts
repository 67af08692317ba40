import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { createAnswerDeadline } from '../lambda/answer-deadline.ts';

const TIMEOUT_MS = 300;

/** Tracks how a promise settled, without letting a rejection go unhandled. */
function watch<T>(promise: Promise<T>) {
  const state: { settled: 'no' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { settled: 'no' };
  promise.then(
    (value) => Object.assign(state, { settled: 'resolved', value }),
    (error: unknown) => Object.assign(state, { settled: 'rejected', error }),
  );
  return state;
}

const never = () => new Promise<never>(() => undefined);

/** Moves the mocked clock on, then lets the promises it settled run their callbacks. */
async function advance(ms: number): Promise<void> {
  mock.timers.tick(ms);
  await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('the answer deadline (one timer bounds every call waiting on a connection)', () => {
  let late: Error[];
  let deadline: ReturnType<typeof createAnswerDeadline>;

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    late = [];
    deadline = createAnswerDeadline(
      TIMEOUT_MS,
      () => new Error(`no answer within ${TIMEOUT_MS} ms`),
      (error) => late.push(error),
    );
  });
  afterEach(() => mock.timers.reset());

  it('passes an answer or a refusal through and stops watching the call', async () => {
    assert.equal(await deadline.wait(Promise.resolve('answer')), 'answer');
    const refusal = new Error('NOPERM');
    await assert.rejects(deadline.wait(Promise.reject(refusal)), (error) => error === refusal);
    assert.equal(deadline.waiting, 0);
    await advance(TIMEOUT_MS * 3);
    assert.deepEqual(late, []);
  });

  it('fails every waiting call once the oldest has waited too long, and reports the connection once', async () => {
    const first = watch(deadline.wait(never()));
    await advance(100);
    const second = watch(deadline.wait(never()));
    await advance(TIMEOUT_MS - 101);
    assert.equal(first.settled, 'no');

    await advance(1);
    assert.equal(first.settled, 'rejected');
    assert.equal(second.settled, 'rejected', 'a later call on the same stalled connection fails with it');
    assert.equal((first.error as Error).message, `no answer within ${TIMEOUT_MS} ms`);
    assert.equal(late.length, 1);
    assert.equal(late[0], first.error);
    assert.equal(deadline.waiting, 0);
  });

  it('gives a call sent after an answered one its own full time', async () => {
    let answer: (value: string) => void = () => undefined;
    const first = watch(deadline.wait(new Promise<string>((resolve) => (answer = resolve))));
    await advance(200);
    answer('ok');
    await advance(0);
    assert.equal(first.settled, 'resolved');

    await advance(50);
    const second = watch(deadline.wait(never()));
    // The timer armed for the first call fires at 300 and finds the second one with 250 ms left.
    await advance(TIMEOUT_MS - 1);
    assert.equal(second.settled, 'no');
    assert.deepEqual(late, []);

    await advance(1);
    assert.equal(second.settled, 'rejected');
    assert.equal(late.length, 1);
  });

  it('watches again after a late call: the next call gets the full time too', async () => {
    watch(deadline.wait(never()));
    await advance(TIMEOUT_MS);
    assert.equal(late.length, 1);

    const next = watch(deadline.wait(never()));
    await advance(TIMEOUT_MS - 1);
    assert.equal(next.settled, 'no');
    await advance(1);
    assert.equal(next.settled, 'rejected');
    assert.equal(late.length, 2);
  });
});
