import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('..', import.meta.url).pathname;

/** What `npm pack` would write: the tarball's name and the files in it (scripts off: no build). */
function packListing(): { filename: string; files: string[] } {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [pack] = JSON.parse(output) as { filename: string; files: { path: string }[] }[];
  assert.ok(pack !== undefined);
  return { filename: pack.filename, files: pack.files.map((file) => file.path) };
}

describe('the files around the package', () => {
  it('ship the Apache-2.0 text, word for word, that package.json names as the license', () => {
    const { license } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string };
    const text = readFileSync(join(ROOT, 'LICENSE'));

    const { files } = packListing();

    assert.equal(license, 'Apache-2.0');
    assert.ok(files.includes('LICENSE'), files.join(', '));
    // SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt, as Debian and aws-cdk ship it.
    assert.equal(
      createHash('sha256').update(text).digest('hex'),
      'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30',
    );
  });

  it('keep the tarball npm pack leaves in the checkout out of git', () => {
    const { filename } = packListing();

    const ignored = spawnSync('git', ['check-ignore', '--quiet', filename], { cwd: ROOT });

    assert.equal(ignored.status, 0, `${filename} is not ignored`);
  });
});
