import { runMain } from './cli.ts';
import { runPollerCli } from './poller-cli.ts';

// The entry of dist/poller.mjs (npm run build:poller).
await runMain(() => runPollerCli(process.argv.slice(2)));
