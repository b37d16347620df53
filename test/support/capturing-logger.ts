import { Writable } from 'node:stream';
import pino from 'pino';

/** A pino logger (warnings and up) whose records are kept, parsed, for tests that check what was logged. */
export function capturingLogger(): { logger: pino.Logger; records: Record<string, any>[] } {
  const records: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      records.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), records };
}
