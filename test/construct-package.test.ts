import assert from 'node:assert/strict';
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { bundleFunction } from '../bench/bundle.ts';
import { RULES } from '../infra/rules.ts';
import { cfnLintErrors } from './helpers/cfn-lint.ts';

/*
 * The package as a team with its own CDK app gets it: packed, installed into a fresh app with aws-cdk-lib, constructs
 * and cdk-nag only, and used by the README's example, which defines a VPC, a cache and a security group and passes
 * them in.
 */

const ROOT = new URL('..', import.meta.url).pathname;
const REGION = 'eu-west-1';
const STACK = 'asset-sync';
const require = createRequire(import.meta.url);
const versionOf = (name: string) => (require(`${name}/package.json`) as { version: string }).version;

/** The code block the README marks as the construct example. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const match = /<!-- construct-example:[^>]*-->\n```ts\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(match?.[1], 'README.md marks its construct example with <!-- construct-example: ... -->');
  return `${match[1]}\n`;
}

/** The app's entry: the example's stack in one region, with cdk-nag's AwsSolutions checks as the repository runs them. */
const MAIN = `import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AssetSyncStack } from './lib/asset-sync-stack.ts';

const app = new App({ outdir: 'cdk.out' });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
new AssetSyncStack(app, '${STACK}', { env: { region: '${REGION}' } });
app.synth();
`;

/** npm and node as a user runs them: Node 24 first on PATH, none of the outer npm run's settings (its prefix). */
function run(command: string, args: readonly string[], cwd: string, timeout = 240_000) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH}`;
  const options: SpawnSyncOptions = { cwd, env, encoding: 'utf8', timeout };
  const result = spawnSync(command, args, options);
  return { status: result.status, output: `${result.stdout}${result.stderr}${result.error ?? ''}` };
}

describe('the packed construct library in a fresh CDK app', { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'construct-package-'));
  const app = join(work, 'app');
  let template: Template;
  let rawTemplate: Record<string, unknown>;

  before(() => {
    const packed = run('npm', ['pack', '--pack-destination', work], ROOT);
    assert.equal(packed.status, 0, packed.output);
    const [tarball, ...others] = readdirSync(work).filter((file) => file.endsWith('.tgz'));
    assert.ok(tarball !== undefined && others.length === 0, packed.output);

    mkdirSync(join(app, 'lib'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'team-app', private: true, type: 'module' }));
    writeFileSync(join(app, 'lib', 'asset-sync-stack.ts'), readmeExample());
    writeFileSync(join(app, 'main.ts'), MAIN);
    const peers = ['aws-cdk-lib', 'constructs', 'cdk-nag'].map((name) => `${name}@${versionOf(name)}`);
    const installed = run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', join(work, tarball), ...peers],
      app,
    );
    assert.equal(installed.status, 0, installed.output);

    const synth = run(process.execPath, ['main.ts'], app, 120_000);
    assert.equal(synth.status, 0, synth.output);
    rawTemplate = JSON.parse(readFileSync(join(app, 'cdk.out', `${STACK}.template.json`), 'utf8'));
    template = Template.fromJSON(rawTemplate);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it('installs without esbuild: the functions come bundled, the constructs compiled', () => {
    for (const name of ['esbuild', '@esbuild']) assert.equal(existsSync(join(app, 'node_modules', name)), false, name);
    const functions = join(app, 'node_modules', 'aws-assets-realtime-sync', 'dist', 'functions');
    assert.deepEqual(readdirSync(functions).sort(), ['describer', 'reconcile', 'sync']);
  });

  it('ships the sync function exactly as the benchmark bundles it', async () => {
    const outfile = join(work, 'bench', 'index.mjs');
    await bundleFunction(outfile);
    const shipped = join(app, 'node_modules', 'aws-assets-realtime-sync', 'dist', 'functions', 'sync', 'index.mjs');
    assert.ok(readFileSync(shipped).equals(readFileSync(outfile)), 'the packed bundle differs from bench/bundle.ts');
  });

  it("synthesizes the seed's queue and rules", () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: `management-events-${REGION}.fifo`,
      FifoQueue: true,
      ContentBasedDeduplication: true,
    });
    for (const rule of RULES) {
      template.hasResourceProperties('AWS::Events::Rule', {
        Name: rule.name,
        EventPattern: rule.eventPattern,
        Targets: [Match.objectLike({ SqsParameters: { MessageGroupId: rule.messageGroupId } })],
      });
    }
  });

  it("runs the function in the app's VPC, subnets and security group, reaching the app's cache", () => {
    const isolated = Object.keys(
      template.findResources('AWS::EC2::Subnet', {
        Properties: { Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: 'Isolated' }]) },
      }),
    );
    const [group, ...otherGroups] = Object.keys(
      template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: 'asset sync function' } }),
    );
    assert.equal(isolated.length, 2);
    assert.ok(group !== undefined && otherGroups.length === 0);
    const [cache] = Object.keys(template.findResources('AWS::ElastiCache::ServerlessCache'));
    const [fn, ...otherFunctions] = Object.values(
      template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: `management-events-sync-${REGION}` } }),
    );
    assert.ok(fn !== undefined && otherFunctions.length === 0);
    assert.deepEqual(fn.Properties.VpcConfig, {
      SubnetIds: isolated.map((id) => ({ Ref: id })),
      SecurityGroupIds: [{ 'Fn::GetAtt': [group, 'GroupId'] }],
    });
    assert.deepEqual(fn.Properties.Environment.Variables.REDIS_URL, {
      'Fn::Join': [
        '',
        ['rediss://', { 'Fn::GetAtt': [cache, 'Endpoint.Address'] }, ':', { 'Fn::GetAtt': [cache, 'Endpoint.Port'] }],
      ],
    });
  });

  it('leaves no warning to read: the example acknowledges the one it means', () => {
    const outdir = join(app, 'cdk.out');
    const entries = readdirSync(outdir)
      .filter((file) => file.endsWith('.metadata.json'))
      .flatMap((file) =>
        Object.values(JSON.parse(readFileSync(join(outdir, file), 'utf8')) as Record<string, { type: string }[]>),
      )
      .flat();
    assert.ok(entries.length > 0, 'the assembly has its metadata files');
    assert.deepEqual(
      entries.filter((entry) => entry.type === 'aws:cdk:warning'),
      [],
    );
  });

  it('passes cdk-nag (synth would have stopped) and cfn-lint', () => {
    const report = JSON.parse(readFileSync(join(app, 'cdk.out', 'validation-report.json'), 'utf8'));
    assert.deepEqual(report.pluginReports, []);
    assert.deepEqual(cfnLintErrors([rawTemplate], [REGION]), []);
  });

  it("type-checks the example against the package's types, strict", () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          allowImportingTsExtensions: true,
          types: [],
        },
        include: ['lib', 'main.ts'],
      }),
    );
    const checked = run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', app], app, 120_000);
    assert.equal(checked.status, 0, checked.output);
  });
});
