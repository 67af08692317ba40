import { readFileSync, writeFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { buildApp } from './app.ts';

/*
 * The README's picture of the dashboard, drawn from the synthesized DashboardBody: each widget a box on CloudWatch's
 * 24-column grid, with its title and its lines' labels. `node infra/dashboard-picture.ts --write` redraws the
 * README's copy; test/infra-dashboard.test.ts fails when that copy no longer matches the body.
 */

export interface DashboardWidget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    readonly alarms?: readonly string[];
    readonly metrics?: readonly (readonly unknown[])[];
  };
}

export interface DashboardBody {
  readonly widgets: readonly DashboardWidget[];
}

type Resources = Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>;

/**
 * The body of the template's one dashboard, parsed. CloudFormation joins it from text and intrinsics: each `Ref` is
 * written `${LogicalId}` and each `Fn::GetAtt` `${LogicalId.Attribute}`, so a test can tell which resource a
 * dimension names.
 */
export function dashboardBody(template: { readonly [key: string]: unknown }): DashboardBody {
  const dashboards = Object.values(template.Resources as Resources).filter(
    (resource) => resource.Type === 'AWS::CloudWatch::Dashboard',
  );
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  const body = dashboards[0]?.Properties?.DashboardBody;
  const parts = isJoin(body) ? body['Fn::Join'][1] : [body];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const intrinsic = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (intrinsic.Ref !== undefined) return `\${${intrinsic.Ref}}`;
      if (intrinsic['Fn::GetAtt'] !== undefined) return `\${${intrinsic['Fn::GetAtt'].join('.')}}`;
      throw new Error(`unexpected intrinsic in the dashboard body: ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.parse(text) as DashboardBody;
}

function isJoin(value: unknown): value is { 'Fn::Join': [string, unknown[]] } {
  return typeof value === 'object' && value !== null && 'Fn::Join' in value;
}

/** The labels of a graph's visible lines (metrics and expressions), in order. */
export function lineLabels(widget: DashboardWidget): string[] {
  return (widget.properties.metrics ?? []).flatMap((line) => {
    const options = line.at(-1) as { label?: string; visible?: boolean; expression?: string } | undefined;
    if (options === undefined || typeof options !== 'object' || options.visible === false) return [];
    return [options.label ?? options.expression ?? String(line[1])];
  });
}

const COLUMN = 4;

/** The grid as text: one character cell per 1/4 of a column, one line per row unit. */
export function drawDashboard(body: DashboardBody): string {
  const bottom = Math.max(...body.widgets.map((widget) => widget.y + widget.height));
  const canvas = Array.from({ length: bottom + 1 }, () => Array.from({ length: 24 * COLUMN + 1 }, () => ' '));
  const put = (row: number, column: number, char: string) => {
    const line = canvas[row] as string[];
    const existing = line[column];
    line[column] = existing === '+' || (existing !== ' ' && existing !== char && char !== ' ') ? '+' : char;
  };
  for (const widget of body.widgets) {
    const left = widget.x * COLUMN;
    const right = (widget.x + widget.width) * COLUMN;
    const top = widget.y;
    const end = widget.y + widget.height;
    for (let column = left; column <= right; column++) {
      put(top, column, column === left || column === right ? '+' : '-');
      put(end, column, column === left || column === right ? '+' : '-');
    }
    for (let row = top + 1; row < end; row++) {
      put(row, left, '|');
      put(row, right, '|');
    }
    const inner = right - left - 3;
    const text = widgetText(widget).flatMap((paragraph) => wrap(paragraph, inner));
    text.slice(0, end - top - 1).forEach((line, i) => {
      for (const [offset, char] of [...line].entries()) (canvas[top + 1 + i] as string[])[left + 2 + offset] = char;
    });
  }
  return canvas.map((line) => line.join('').trimEnd()).join('\n');
}

function widgetText(widget: DashboardWidget): string[] {
  const { properties } = widget;
  if (widget.type === 'text') {
    return (properties.markdown ?? '').split('\n').map((line) => line.replace(/^#+\s*/, ''));
  }
  if (widget.type === 'alarm') {
    // `${LogicalId.Arn}`: the alarm's construct name, without CDK's hash.
    const names = (properties.alarms ?? []).map((arn) => arn.replace(/^\$\{(.+?)(?:[0-9A-F]{8})?\.Arn\}$/, '$1'));
    return [`${properties.title ?? 'Alarms'} (${names.length})`, names.join(', ')];
  }
  return [properties.title ?? '', lineLabels(widget).join(' · ')];
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '';
    }
    line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((item) => (item.length > width ? `${item.slice(0, width - 1)}…` : item));
}

const README = new URL('../README.md', import.meta.url).pathname;
const START = '<!-- dashboard-picture:';
const FENCE = '```';

/** The default deployment's dashboard (one region, the sync function), drawn. */
export function defaultDashboardPicture(): string {
  const app = buildApp(new App({ context: { regions: 'us-east-1', redisUrl: 'rediss://cache.example.internal:6379' } }));
  const template = app.synth().stacks[0]?.template as { Resources: Resources };
  return drawDashboard(dashboardBody(template));
}

/** Where the README's copy of the picture lies: the text block after the marker, from its first line to its end. */
function pictureSpan(readme: string): { readonly start: number; readonly end: number } {
  const marker = readme.indexOf(START);
  if (marker < 0) throw new Error(`README.md has no ${START} marker`);
  const start = readme.indexOf(`${FENCE}text\n`, marker) + `${FENCE}text\n`.length;
  // From the newline that ends the fence's first line: an empty block ends right there.
  return { start, end: readme.indexOf(`\n${FENCE}`, start - 1) };
}

/** The README's copy of the picture. */
export function readmePicture(readme = readFileSync(README, 'utf8')): string {
  const { start, end } = pictureSpan(readme);
  return readme.slice(start, Math.max(start, end));
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const picture = defaultDashboardPicture();
  if (process.argv.includes('--write')) {
    const readme = readFileSync(README, 'utf8');
    const { start, end } = pictureSpan(readme);
    writeFileSync(README, `${readme.slice(0, start)}${picture}${readme.slice(end)}`);
    process.stdout.write(`README.md: dashboard picture redrawn\n`);
  } else {
    process.stdout.write(`${picture}\n`);
  }
}
