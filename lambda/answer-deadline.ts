/**
 * Bounds how long calls over one connection wait for their answer, with one timer for the connection instead of one
 * per call. ioredis' `commandTimeout` and `socketTimeout` arm and clear two timers and a listener on every command;
 * on the function's path that cost 0.04-0.09 of the bench's handler/raw ratio (paired runs). Here the timer is armed only
 * while a call waits, and when it fires it looks at the oldest call: if that one is late, every waiting call fails
 * (they all ride on the same connection, which is stalled) and `onLate` drops the connection; if not, the timer is
 * armed again for the time the oldest call has left.
 */
export interface AnswerDeadline {
  /** Settles as `answer` does, or rejects with `lateError` once it has waited longer than the deadline. */
  wait<T>(answer: Promise<T>): Promise<T>;
  /** Waiting calls, for tests and diagnostics. */
  readonly waiting: number;
}

interface WaitingCall {
  readonly since: number;
  readonly reject: (error: Error) => void;
}

export function createAnswerDeadline(timeoutMs: number, lateError: () => Error, onLate: (error: Error) => void): AnswerDeadline {
  // A Set iterates in insertion order: the first entry is the oldest call.
  const waiting = new Set<WaitingCall>();
  let timer: NodeJS.Timeout | undefined;

  const arm = (ms: number) => {
    timer = setTimeout(check, Math.max(1, Math.ceil(ms)));
    // The connection keeps the process alive while calls wait; the timer must not keep it alive after they are done.
    timer.unref();
  };
  const check = () => {
    timer = undefined;
    const oldest = waiting.values().next().value;
    if (oldest === undefined) return;
    const left = oldest.since + timeoutMs - Date.now();
    if (left > 0) return arm(left);
    const error = lateError();
    for (const call of waiting) call.reject(error);
    waiting.clear();
    onLate(error);
  };

  return {
    wait<T>(answer: Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const call: WaitingCall = { since: Date.now(), reject };
        waiting.add(call);
        if (timer === undefined) arm(timeoutMs);
        answer.then(
          (value) => {
            waiting.delete(call);
            resolve(value);
          },
          (error: unknown) => {
            waiting.delete(call);
            reject(error);
          },
        );
      });
    },
    get waiting() {
      return waiting.size;
    },
  };
}
