import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { CFN_LINT_MISSING, cfnLintErrors } from './helpers/cfn-lint.ts';

it('without cfn-lint, the template tests fail with one line that says what to install', () => {
  const empty = mkdtempSync(join(tmpdir(), 'no-cfn-lint-'));
  const path = process.env.PATH;
  process.env.PATH = empty;
  try {
    assert.throws(
      () => cfnLintErrors([{ Resources: {} }], ['us-east-1']),
      (error: Error) => error.message === CFN_LINT_MISSING && error.stack === CFN_LINT_MISSING,
    );
  } finally {
    process.env.PATH = path;
    rmSync(empty, { recursive: true, force: true });
  }
  assert.match(CFN_LINT_MISSING, /pip install cfn-lint/);
});
