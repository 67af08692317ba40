import { afterEach } from 'node:test';

interface Closable {
  close(): Promise<void> | void;
}

/** Closes what a test opened even when its assertions fail, so no client keeps the test process alive. */
export function closeAfterEach() {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const item of open.splice(0).reverse()) await item.close();
  });
  return <T extends Closable>(item: T): T => {
    open.push(item);
    return item;
  };
}
