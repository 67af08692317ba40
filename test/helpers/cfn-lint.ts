import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CFN_LINT_MISSING =
  "cfn-lint not found on PATH: install AWS's CloudFormation linter (pip install cfn-lint), which the infra tests run on every template";

export interface CfnLintMatch {
  readonly Level: string;
  readonly Message: string;
  readonly Rule: { readonly Id: string };
}

/**
 * Runs AWS's CloudFormation linter (`cfn-lint`, on PATH) on synthesized templates and returns its error-level
 * findings: what CloudFormation would refuse. Warnings are left to review.
 */
export function cfnLintErrors(templates: readonly Record<string, unknown>[], regions: readonly string[]): CfnLintMatch[] {
  const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  try {
    const files = templates.map((template, index) => {
      const file = join(dir, `template-${index}.json`);
      writeFileSync(file, JSON.stringify(template));
      return file;
    });
    const result = spawnSync('cfn-lint', ['--format', 'json', '--regions', ...regions, '--', ...files], {
      encoding: 'utf8',
    });
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      // What to install, as the whole failure: the stack of this helper says nothing more.
      const missing = new Error(CFN_LINT_MISSING);
      missing.stack = CFN_LINT_MISSING;
      throw missing;
    }
    if (result.error !== undefined) throw result.error;
    if (result.stdout.trim() === '') {
      if (result.status !== 0) throw new Error(`cfn-lint failed: ${result.stderr}`);
      return [];
    }
    return (JSON.parse(result.stdout) as CfnLintMatch[]).filter((match) => match.Level === 'Error');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
