// One batch through the module's own `handler`, as a new Lambda container runs it; the response is the last line.
import { handler } from '../../lambda/handler.ts';
import { lambdaContext, sqsEvent, sqsRecord, stateChange } from './records.ts';

const count = Number(process.argv[2] ?? 2);
const batch = sqsEvent(Array.from({ length: count }, (_, i) => sqsRecord({ body: stateChange(`i-${i}`, 'running') })));
const response = await handler(batch, lambdaContext());
await handler.close();
process.stdout.write(`${JSON.stringify(response)}\n`);
