import { runMain } from './cli.ts';
import { runDlq } from './dlq.ts';

// npm run dlq -- --queue-url URL [--redrive]
await runMain(() => runDlq(process.argv.slice(2)));
