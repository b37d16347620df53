import pino, { type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { Config } from './config.js';

/** Where log lines go when not stdout; `isTTY` as on a terminal's stream. */
export type LogStream = NodeJS.WritableStream & { isTTY?: boolean };

/** How pretty lines show the time: local, to the millisecond. */
const PRETTY_TIME = 'SYS:yyyy-mm-dd HH:MM:ss.l';

/**
 * The logger courier uses, writing to `stream` (default: stdout). JSON lines, one record each, with
 * an ISO-8601 `time`, unless the format is `pretty`, or `auto` on a terminal: then readable lines
 * (level, time, message, then the record's fields on the same line).
 *
 * The pretty lines are made in this thread and written synchronously (pino-pretty's formatter, not
 * its worker-thread transport): nothing is held in a buffer to be lost when the process exits.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, stream?: LogStream): Logger {
  const options = { level: config.logLevel, timestamp: pino.stdTimeFunctions.isoTime };
  const terminal = (stream ?? process.stdout).isTTY === true;
  if (config.logFormat === 'json' || (config.logFormat === 'auto' && !terminal)) {
    // Without a stream, pino's own stdout destination (flushed at exit).
    return stream === undefined ? pino(options) : pino(options, stream);
  }
  const prettify = pinoPretty.prettyFactory({
    // Colours only on a terminal that takes them (pino-pretty's check honours NO_COLOR).
    colorize: terminal && pinoPretty.isColorSupported,
    translateTime: PRETTY_TIME,
    ignore: 'pid,hostname',
    singleLine: true,
  });
  const out = stream ?? pino.destination({ fd: 1, sync: true });
  const destination: DestinationStream = { write: (line) => void out.write(prettify(line)) };
  return pino(options, destination);
}
