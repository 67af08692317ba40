import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { POLLER_USAGE } from '../local/poller-cli.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const pollerDoc = readFileSync(new URL('../docs/poller.md', import.meta.url), 'utf8');

/** The text of a README section, from its heading to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `no section ${heading}`);
  const level = /^#+/.exec(heading)?.[0] ?? '##';
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level.length}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

describe('what the docs tell a user of the command line', () => {
  it('the quick start says that npm test needs cfn-lint, and how to get it', () => {
    assert.match(section(readme, '## Quick start'), /`cfn-lint`[\s\S]*`pip install cfn-lint`/);
  });

  it('npm start documents its exit codes: 1 for input that is not an event, 130 for Ctrl-C', () => {
    const local = section(readme, '## Run it locally');
    assert.match(local, /1 something not delivered[^;]*\) or some input that is not an event/);
    assert.match(local, /130 after Ctrl-C/);
  });

  it('the poller names every setting the function reads from its environment, in its --help and its guide', () => {
    // The settings are the function's (lambda/config.ts), read by the poller from its own environment.
    const config = readFileSync(new URL('../lambda/config.ts', import.meta.url), 'utf8');
    const settings = [...new Set([...config.matchAll(/env\.([A-Z][A-Z_]+)/g)].map((match) => match[1] as string))].filter(
      // Set by Lambda itself, not by the poller's operator.
      (name) => !name.startsWith('AWS_'),
    );
    assert.ok(settings.length > 10, settings.join(' '));
    for (const [where, text] of [
      ['--help', POLLER_USAGE],
      ['docs/poller.md', pollerDoc],
    ] as const) {
      const flat = text.replace(/\s+/g, ' ');
      assert.deepEqual(
        settings.filter((name) => !new RegExp(`\\b${name}\\b`).test(flat)),
        [],
        `${where} leaves out`,
      );
    }
  });

  it('the poller documents 130 for a second signal, in its --help and its guide', () => {
    for (const text of [POLLER_USAGE, pollerDoc, section(readme, '### Poll mode: the poller next to Redis')]) {
      assert.match(text, /second signal[^.]*130|130[^.]*second signal/);
    }
  });
});
