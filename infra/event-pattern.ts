/*
 * EventBridge event patterns as plain JSON, and a matcher with EventBridge's semantics, so the local router decides
 * exactly what the deployed rules would. No CDK import: the stack, the router and the tests share it.
 *
 * Semantics (AWS, "Event patterns" and "Content filtering in Amazon EventBridge event patterns"):
 * - every field of the pattern must match (AND); the values listed for one field are alternatives (OR);
 * - a nested object matches the event's object field of that name; an array in the event matches when any element
 *   does (for nested objects: one element must match the whole nested pattern);
 * - only leaf values (strings, numbers, booleans, null) are matched; `exists` is about leaves too, so a field that
 *   holds an object or an empty array does not "exist" for a pattern;
 * - every filter but `exists: false` needs the field to be there: a missing field matches neither a value nor
 *   `anything-but`.
 */

/** A value in a pattern's list: an exact value or a content filter such as `{"prefix": "..."}`. */
export type PatternValue = string | number | boolean | null | { readonly [filter: string]: unknown };

/** An EventBridge event pattern exactly as its JSON: `source`, `detail-type`, `detail`, ..., and `$or`. */
export interface EventPattern {
  readonly [field: string]: readonly PatternValue[] | EventPattern;
}

/** A pattern form this matcher does not know: the router must not guess what EventBridge would do. */
export class UnsupportedPatternError extends Error {
  override name = 'UnsupportedPatternError';
}

/** Whether EventBridge would deliver the event to a rule with this pattern. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return firstMismatch(pattern, event) === undefined;
}

/**
 * The path of the first pattern field the event fails (`detail.errorCode`), or undefined when the event matches:
 * what the router reports for an event it skips.
 */
export function firstMismatch(pattern: EventPattern, event: unknown, path = ''): string | undefined {
  for (const [field, expected] of Object.entries(pattern)) {
    const at = path === '' ? field : `${path}.${field}`;
    if (field === '$or') {
      if (!Array.isArray(expected)) throw new UnsupportedPatternError(`${at} must be a list of patterns`);
      const alternatives = expected as EventPattern[];
      if (!alternatives.some((alternative) => firstMismatch(alternative, event, path) === undefined)) return at;
      continue;
    }
    const value = isObject(event) ? event[field] : undefined;
    if (!Array.isArray(expected) && !isObject(expected)) {
      // EventBridge rejects such a pattern (`"source": "aws.ec2"`): values always come in a list.
      throw new UnsupportedPatternError(`${at} must be a list of values or a nested pattern`);
    }
    if (Array.isArray(expected)) {
      if (!matchesField(expected as readonly PatternValue[], value, at)) return at;
    } else {
      const mismatch = nestedMismatch(expected as EventPattern, value, at);
      if (mismatch !== undefined) return mismatch;
    }
  }
  return undefined;
}

/** A nested pattern against an object, or against an array of them (one element must match it all). */
function nestedMismatch(pattern: EventPattern, value: unknown, path: string): string | undefined {
  if (Array.isArray(value) && value.length > 0) {
    const mismatches = value.map((element) => nestedMismatch(pattern, element, path));
    return mismatches.includes(undefined) ? undefined : mismatches[0];
  }
  // A missing or non-object parent holds no leaves below it: only `exists: false` fields can match there.
  return firstMismatch(pattern, isObject(value) ? value : undefined, path);
}

/** One field: any of the listed values or filters matches any of the field's leaf values. */
function matchesField(expected: readonly PatternValue[], value: unknown, path: string): boolean {
  const leaves = leafValues(value);
  return expected.some((filter) => {
    if (isObject(filter) && 'exists' in filter) {
      if (typeof filter.exists !== 'boolean') throw new UnsupportedPatternError(`${path}: exists must be true or false`);
      return filter.exists === leaves.length > 0;
    }
    return leaves.some((leaf) => matchesValue(filter, leaf, path));
  });
}

type Leaf = string | number | boolean | null;

/** The event's values at one path: arrays flattened, objects left out (they are not leaves). */
function leafValues(value: unknown): Leaf[] {
  if (value === undefined || isObject(value)) return [];
  if (Array.isArray(value)) return value.flatMap(leafValues);
  return [value as Leaf];
}

function matchesValue(filter: PatternValue, leaf: Leaf, path: string): boolean {
  if (!isObject(filter)) return filter === leaf;
  const entries = Object.entries(filter);
  const [name, argument] = entries[0] ?? [];
  if (entries.length !== 1 || name === undefined) {
    throw new UnsupportedPatternError(`${path}: a filter has exactly one key, got ${JSON.stringify(filter)}`);
  }
  switch (name) {
    case 'prefix':
      return (
        typeof leaf === 'string' &&
        stringFilter(argument, path, name, (text, ignoreCase) => fold(leaf, ignoreCase).startsWith(text))
      );
    case 'suffix':
      return (
        typeof leaf === 'string' &&
        stringFilter(argument, path, name, (text, ignoreCase) => fold(leaf, ignoreCase).endsWith(text))
      );
    case 'equals-ignore-case':
      return typeof leaf === 'string' && typeof argument === 'string' && leaf.toLowerCase() === argument.toLowerCase();
    case 'wildcard':
      return typeof leaf === 'string' && typeof argument === 'string' && wildcard(argument).test(leaf);
    case 'anything-but':
      return anythingBut(argument, leaf, path);
    case 'numeric':
      return typeof leaf === 'number' && numeric(argument, leaf, path);
    case 'cidr':
      return typeof leaf === 'string' && typeof argument === 'string' && inCidr(leaf, argument, path);
    default:
      throw new UnsupportedPatternError(`${path}: the filter "${name}" is not supported by the local matcher`);
  }
}

/** `prefix`/`suffix` take a string, or `{"equals-ignore-case": string}`. */
function stringFilter(
  argument: unknown,
  path: string,
  name: string,
  test: (text: string, ignoreCase: boolean) => boolean,
): boolean {
  if (typeof argument === 'string') return test(argument, false);
  if (isObject(argument) && typeof argument['equals-ignore-case'] === 'string') {
    return test(argument['equals-ignore-case'].toLowerCase(), true);
  }
  throw new UnsupportedPatternError(`${path}: ${name} takes a string or {"equals-ignore-case": string}`);
}

function fold(text: string, ignoreCase: boolean): string {
  return ignoreCase ? text.toLowerCase() : text;
}

/** `anything-but`: a value, a list of values, or one of the filters prefix, suffix, equals-ignore-case, wildcard. */
function anythingBut(argument: unknown, leaf: Leaf, path: string): boolean {
  if (Array.isArray(argument)) return !argument.includes(leaf);
  if (!isObject(argument)) return argument !== leaf;
  const [name, inner] = Object.entries(argument)[0] ?? [];
  if (typeof leaf !== 'string') return true;
  const many = (values: unknown) => (Array.isArray(values) ? values : [values]).map(String);
  switch (name) {
    case 'prefix':
      return !many(inner).some((text) => leaf.startsWith(text));
    case 'suffix':
      return !many(inner).some((text) => leaf.endsWith(text));
    case 'equals-ignore-case':
      return !many(inner).some((text) => text.toLowerCase() === leaf.toLowerCase());
    case 'wildcard':
      return !many(inner).some((text) => wildcard(text).test(leaf));
    default:
      throw new UnsupportedPatternError(`${path}: anything-but does not take ${JSON.stringify(argument)}`);
  }
}

/** `numeric`: one or two comparisons, e.g. `[">", 0, "<=", 5]` or `["=", 301.8]`. */
function numeric(argument: unknown, leaf: number, path: string): boolean {
  if (!Array.isArray(argument) || argument.length === 0 || argument.length % 2 !== 0) {
    throw new UnsupportedPatternError(`${path}: numeric takes pairs of operator and number`);
  }
  for (let index = 0; index < argument.length; index += 2) {
    const operator = argument[index];
    const bound = argument[index + 1];
    if (typeof bound !== 'number') throw new UnsupportedPatternError(`${path}: numeric compares with numbers`);
    const ok =
      operator === '='
        ? leaf === bound
        : operator === '<'
          ? leaf < bound
          : operator === '<='
            ? leaf <= bound
            : operator === '>'
              ? leaf > bound
              : operator === '>='
                ? leaf >= bound
                : undefined;
    if (ok === undefined) throw new UnsupportedPatternError(`${path}: numeric operator ${JSON.stringify(operator)}`);
    if (!ok) return false;
  }
  return true;
}

/** `*` matches any run of characters; everything else is literal. */
function wildcard(pattern: string): RegExp {
  const literal = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`, 's');
}

/** IPv4 CIDR only; an IPv6 range is refused rather than guessed. */
function inCidr(address: string, range: string, path: string): boolean {
  const [base, bitsText] = range.split('/');
  const bits = Number(bitsText);
  const network = ipv4(base ?? '');
  if (network === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new UnsupportedPatternError(`${path}: cidr "${range}" (the local matcher knows IPv4 ranges only)`);
  }
  const value = ipv4(address);
  if (value === undefined) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (value & mask) >>> 0 === (network & mask) >>> 0;
}

function ipv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.reduce((sum, part) => sum * 256 + Number(part), 0);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
