/*
 * EventBridge Scheduler's three expression forms, checked at synth so a typo stops `cdk synth` with one line instead of
 * failing the deployment halfway: rate(value unit), cron(6 fields), at(yyyy-mm-ddThh:mm:ss).
 */
const EXAMPLES = 'rate(6 hours), cron(0 */6 * * ? *) or at(2026-12-24T06:00:00)';

const CRON_FIELDS: readonly [string, RegExp][] = [
  ['minutes', /^[0-9,\-*/]+$/],
  ['hours', /^[0-9,\-*/]+$/],
  ['day-of-month', /^[0-9,\-*/?LW]+$/],
  ['month', /^[0-9A-Za-z,\-*/]+$/],
  ['day-of-week', /^[0-9A-Za-z,\-*/?L#]+$/],
  ['year', /^[0-9,\-*/]+$/],
];

/** Why the expression is not one Scheduler accepts, or undefined when it is. */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate !== null) {
    const value = Number(rate[1]);
    const unit = rate[2] ?? '';
    if (value < 1) return `"${expression}": the rate must be at least 1`;
    const plural = unit.endsWith('s');
    if (value === 1 && plural) return `"${expression}": write rate(1 ${unit.slice(0, -1)}) (singular for 1)`;
    if (value > 1 && !plural) return `"${expression}": write rate(${value} ${unit}s) (plural above 1)`;
    return undefined;
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron !== null) {
    const fields = (cron[1] ?? '').trim().split(/\s+/);
    if (fields.length !== 6) return `"${expression}": cron() takes 6 fields (minutes hours day-of-month month day-of-week year)`;
    for (const [index, [name, allowed]] of CRON_FIELDS.entries()) {
      if (!allowed.test(fields[index] ?? '')) return `"${expression}": the ${name} field "${fields[index]}" is not valid`;
    }
    if ((fields[2] === '?') === (fields[4] === '?')) {
      return `"${expression}": exactly one of day-of-month and day-of-week must be ?`;
    }
    return undefined;
  }
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression);
  if (at !== null) {
    const [, year, month, day, hour, minute, second] = at.map(Number);
    const date = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day, hour, minute, second));
    const valid =
      date.getUTCFullYear() === year &&
      date.getUTCMonth() === (month ?? 0) - 1 &&
      date.getUTCDate() === day &&
      date.getUTCHours() === hour &&
      date.getUTCMinutes() === minute &&
      date.getUTCSeconds() === second;
    return valid ? undefined : `"${expression}": not a real date and time`;
  }
  return `must be an EventBridge Scheduler expression such as ${EXAMPLES}, got "${expression}"`;
}
