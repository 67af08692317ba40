import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { closestKey } from '../infra/unknown-context.ts';
import { describeError } from '../lambda/errors.ts';

/** A mistake the user can fix (a flag, a setting, a file, an unreachable dependency): one line, no stack trace. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** `user:password@` in any URL of a text becomes `***@`: a message may quote a URL that carries credentials. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
}

/** One line of an error for a person: name and message, credentials removed, never the stack. */
export function oneLine(error: unknown): string {
  if (error instanceof CliError) return redactUrls(error.message);
  const { name, message } = describeError(error);
  const text = message.split('\n')[0] ?? '';
  return redactUrls(name === 'Error' ? text : `${name}: ${text}`);
}

/** A parseArgs error (unknown flag, missing value, positional argument) as a usage error: exit 2 with the usage. */
export function usageError(error: unknown, usage: string): CliError {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new CliError(`${message}\n\n${usage}`, 2);
}

/**
 * A command's flags with parseArgs (strict, no positional arguments, `--no-<flag>` for booleans); a parse error is a
 * usage error. A negative number after a flag that takes a value (`--visibility-timeout -1`) is taken as its value,
 * which parseArgs calls ambiguous, so that the flag's own check says what is wrong with it.
 */
export function parseFlags<const T extends ParseArgsOptionsConfig>(argv: readonly string[], options: T, usage: string) {
  const args: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    const next = argv[index + 1];
    if (next !== undefined && /^-\d/.test(next) && options[arg.slice(2)]?.type === 'string' && arg.startsWith('--')) {
      args.push(`${arg}=${next}`);
      index += 1;
    } else {
      args.push(arg);
    }
  }
  try {
    return parseArgs({ args, strict: true, allowPositionals: false, allowNegative: true, options }).values;
  } catch (error) {
    const unknown =
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'--([^'=]+)/.exec(String(error)) : null;
    const near = unknown?.[1] === undefined ? undefined : closestKey(unknown[1], Object.keys(options));
    throw usageError(
      near === undefined ? error : new Error(`Unknown option '--${unknown?.[1]}': did you mean --${near}?`),
      usage,
    );
  }
}

/**
 * Runs a command's main function with the exit codes of every command here: what it returns (0 all delivered,
 * 1 something not delivered), 2 for a CliError (usage, settings), 1 for anything unexpected, each as one line.
 */
export async function runMain(main: () => Promise<number>): Promise<void> {
  const fatal = (error: unknown) => {
    process.stderr.write(`error: ${oneLine(error)}\n`);
    process.exit(error instanceof CliError ? error.exitCode : 1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  try {
    process.exitCode = await main();
  } catch (error) {
    if (error instanceof CliError) process.stderr.write(`${oneLine(error)}\n`);
    else process.stderr.write(`error: ${oneLine(error)}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  }
}
