import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ContextError, readSettings } from './config.ts';
import { SyncStack } from './sync-stack.ts';

/** One stack per region, named after it; cdk-nag's AwsSolutions pack checks every synth. */
export function buildApp(app: App = new App()): App {
  const settings = readSettings((key) => app.node.tryGetContext(key));
  for (const region of settings.regions) {
    const stack = new SyncStack(app, `management-events-sync-${region}`, {
      region,
      settings,
      description: `Real-time sync of AWS assets (${region}): EventBridge rules -> SQS FIFO -> ${settings.consumer} -> Redis`,
    });
    for (const warning of settings.warnings) Annotations.of(stack).addWarningV2('sync:settings', warning);
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    buildApp().synth();
  } catch (error) {
    if (!(error instanceof ContextError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
