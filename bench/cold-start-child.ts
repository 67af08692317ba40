// A new container: the handler module loads, then its first batch is timed from invocation to response.
import { createHandler } from '../lambda/handler.ts';
import { createJsonLogger } from '../lambda/log.ts';
import { lambdaContext, sqsEvent, sqsRecord, stateChange } from '../test/helpers/records.ts';

const lines: string[] = [];
const handler = createHandler({ logger: createJsonLogger((line) => lines.push(line)) });
const batch = sqsEvent(Array.from({ length: 10 }, (_, i) => sqsRecord({ body: stateChange(`i-${i}`, 'running') })));
const started = performance.now();
const response = await handler(batch, lambdaContext());
const ms = performance.now() - started;
await handler.close();
if (response.batchItemFailures.length > 0) {
  console.error(`the first batch failed:\n${lines.join('\n')}`);
  process.exit(1);
}
console.log(ms.toFixed(3));
