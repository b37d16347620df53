import { Writable } from 'node:stream';

/** A stream that keeps every line written to it, as a logger's destination (a terminal's when `isTTY`). */
export class LogLines extends Writable {
  readonly lines: string[] = [];
  isTTY?: boolean;

  constructor({ isTTY = false } = {}) {
    super({
      write: (chunk: Buffer | string, _encoding, done) => {
        this.lines.push(
          ...String(chunk)
            .split('\n')
            .filter((line) => line !== ''),
        );
        done();
      },
    });
    if (isTTY) this.isTTY = true;
  }

  /** The lines as JSON records (every line must be one). */
  records(): Record<string, any>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, any>);
  }

  /** The records with this message. */
  withMessage(msg: string): Record<string, any>[] {
    return this.records().filter((record) => record.msg === msg);
  }
}
