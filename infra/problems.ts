import { StringConcat, Token, Tokenization } from 'aws-cdk-lib';
import { redisUrlHasCredentials, redisUrlShapeProblem } from '../lambda/config.ts';

/*
 * Checks shared by the constructs' props and the app's context keys, which carry the same names: each adds one line
 * per problem, naming the setting and the value it got, so that every problem is listed at once.
 */

/** Settings that cannot work together, all of them in one error (AWS Solutions Constructs' habit). */
export class SettingsError extends Error {
  override name = 'SettingsError';
  readonly problems: readonly string[];
  constructor(heading: string, problems: readonly string[]) {
    super(`${heading}:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** A construct's props that cannot work: thrown at construction, before anything is added to the stack. */
export class PropsError extends SettingsError {
  override name = 'PropsError';
  constructor(construct: string, problems: readonly string[]) {
    super(`invalid ${construct} props`, problems);
  }
}

export const ACCOUNT_ID = /^\d{12}$/;

export function checkWholeNumber(problems: string[], key: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${key} must be a whole number from ${min} to ${max}, got "${String(value)}"`);
  }
}

export function checkBoolean(problems: string[], key: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') problems.push(`${key} must be true or false, got "${String(value)}"`);
}

export function checkEmail(problems: string[], key: string, value: unknown): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (typeof value !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
    problems.push(`${key} "${String(value)}" is not an email address`);
  }
}

export function checkAccountId(problems: string[], key: string, value: unknown): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (typeof value !== 'string' || !ACCOUNT_ID.test(value)) {
    problems.push(`${key} "${String(value)}" is not a 12-digit AWS account ID`);
  }
}

/**
 * Why a Redis URL cannot go into the function's environment, or undefined. `secretSetting` names where the password
 * belongs instead. A URL built from tokens (a cache's endpoint in the same app) is checked on what synth knows: its
 * scheme and any user or password written around the tokens; one that starts with a token is left to the function.
 */
export function redisUrlProblem(url: string, secretSetting: string): string | undefined {
  let known = url;
  if (Token.isUnresolved(url)) {
    const fragments = Tokenization.reverseString(url);
    if (fragments.firstToken !== undefined) return undefined;
    // A stand-in that is valid both as a host and as a port.
    known = String(fragments.mapTokens({ mapToken: () => '1' }).join(new StringConcat()));
  }
  const shape = redisUrlShapeProblem(known);
  if (shape !== undefined) return shape;
  if (redisUrlHasCredentials(known)) {
    return `carries a user or password, which would be stored in the template in clear text: put the password in a Secrets Manager secret and pass ${secretSetting}`;
  }
  return undefined;
}
