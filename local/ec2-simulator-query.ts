/*
 * The parts of EC2's Query protocol the simulated describes read: numbered lists (`InstanceId.1`), filters
 * (`Filter.1.Name`, `Filter.1.Value.1`), and paging (`MaxResults`, `NextToken`), with EC2's own limits and errors.
 */
import type { Tag } from '@aws-sdk/client-ec2';
import { SimulatedEc2Error } from './ec2-simulator-errors.ts';

/** EC2 refuses more filter values than this in one call (FilterLimitExceeded). */
export const MAX_FILTER_VALUES = 200;

/** `InstanceId.1`, `InstanceId.2`... in order. */
export function listParameter(form: URLSearchParams, name: string): string[] {
  const values: string[] = [];
  for (let index = 1; form.has(`${name}.${index}`); index += 1) values.push(form.get(`${name}.${index}`) ?? '');
  return values;
}

export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

export function filters(form: URLSearchParams): Filter[] {
  const parsed: Filter[] = [];
  for (let index = 1; form.has(`Filter.${index}.Name`); index += 1) {
    parsed.push({ name: form.get(`Filter.${index}.Name`) ?? '', values: listParameter(form, `Filter.${index}.Value`) });
  }
  const valueCount = parsed.reduce((sum, filter) => sum + filter.values.length, 0);
  if (valueCount > MAX_FILTER_VALUES) {
    throw new SimulatedEc2Error(
      'FilterLimitExceeded',
      `The maximum number of filter values specified on a single call is ${MAX_FILTER_VALUES}`,
    );
  }
  return parsed;
}

/** For each filter name an action knows, the values an item has for it. */
export type FilterFields<T> = Readonly<Record<string, (item: T) => string | readonly string[] | undefined>>;

/** Items matching every filter (values of one filter are ORed); `tag:<key>` works on every action. */
export function matching<T extends object>(items: readonly T[], given: readonly Filter[], fields: FilterFields<T>): T[] {
  const tests = given.map((filter) => {
    const field = filter.name.startsWith('tag:')
      ? (item: T) =>
          (item as { Tags?: Tag[] }).Tags?.filter((tag) => tag.Key === filter.name.slice(4)).map((tag) => tag.Value ?? '')
      : fields[filter.name];
    if (field === undefined) throw new SimulatedEc2Error('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
    return (item: T) => {
      const value = field(item);
      const values = value === undefined ? [] : typeof value === 'string' ? [value] : value;
      return values.some((candidate) => filter.values.includes(candidate));
    };
  });
  return items.filter((item) => tests.every((test) => test(item)));
}

/**
 * Where EC2 says MaxResults and an id list do not mix (DescribeInstances' `instancesSet`...): checked before anything
 * is looked up, as EC2 validates parameters first.
 */
export function refuseMaxResultsWithIds(form: URLSearchParams, idsGiven: boolean, idsParameter: string): void {
  if (form.has('MaxResults') && idsGiven) {
    throw new SimulatedEc2Error(
      'InvalidParameterCombination',
      `The parameter ${idsParameter} cannot be used with the parameter maxResults`,
    );
  }
}

/** One page of `items`. Without MaxResults EC2 answers everything; with it, 5 to 1000 items and a NextToken while more remain. */
export function page<T>(items: readonly T[], form: URLSearchParams): { items: T[]; nextToken?: string } {
  const maxResults = form.get('MaxResults');
  const token = form.get('NextToken');
  const start = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString());
  if (!Number.isInteger(start) || start < 0 || start > items.length) {
    throw new SimulatedEc2Error('InvalidParameterValue', `The token '${token}' is invalid`);
  }
  if (maxResults === null) return { items: items.slice(start) };
  const size = Number(maxResults);
  if (!Number.isInteger(size) || size < 5 || size > 1000) {
    throw new SimulatedEc2Error(
      'InvalidParameterValue',
      `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
    );
  }
  const end = Math.min(start + size, items.length);
  return end < items.length
    ? { items: items.slice(start, end), nextToken: Buffer.from(String(end)).toString('base64url') }
    : { items: items.slice(start, end) };
}
