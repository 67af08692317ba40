import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
