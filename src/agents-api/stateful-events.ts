import { errors } from '../errors.js';
import { RESULT_DATA_LIMITS, assertWithinLimits } from '../domain/json-limits.js';
import { isResultCode, MAX_ID_LENGTH, MAX_RESULT_MESSAGE_LENGTH, MAX_RESULTS_PER_REPORT } from '../http/schemas.js';
import type { ResultReport } from '../runtime/supervisor.js';

/**
 * The Wazuh agent's result report, `POST /api/v1/events/stateful` (NDJSON):
 *   line 1   {"agent":{id,name,groups,type,version,host}}
 *   then pairs of lines:
 *            {"id":"<document_id>","module":"command","operation":"update"}
 *            {"command":{"result":{"code":<int>,"message":<str>}}}
 * Anything else is refused whole, before anything is recorded.
 */
export function parseStatefulEvents(body: unknown): ResultReport[] {
  if (typeof body !== 'string') throw errors.UNSUPPORTED_MEDIA_TYPE(typeof body, 'application/x-ndjson');
  const lines = body.split('\n').filter((line) => line.trim() !== '');
  const parsed = lines.map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch (error) {
      throw errors.MALFORMED_JSON.causedBy(error, `line ${i + 1}: ${(error as Error).message}`);
    }
  });
  const [meta, ...events] = parsed;
  if (!isObject(meta) || !isObject(meta.agent)) throw errors.VALIDATION('Line 1 must be the agent metadata: {"agent":{…}}');
  if (events.length === 0) throw errors.VALIDATION('No events after the agent metadata');
  if (events.length % 2 !== 0) throw errors.VALIDATION('Events come in pairs of lines: a header, then its data');
  if (events.length / 2 > MAX_RESULTS_PER_REPORT) throw errors.VALIDATION(`At most ${MAX_RESULTS_PER_REPORT} results per request`);

  const reports: ResultReport[] = [];
  for (let i = 0; i < events.length; i += 2) {
    const header = events[i];
    const data = events[i + 1];
    const line = i + 2;
    if (!isObject(header) || typeof header.id !== 'string' || header.id === '' || header.id.length > MAX_ID_LENGTH) {
      throw errors.VALIDATION(`Line ${line}: header needs a string "id" (the command's document_id, at most ${MAX_ID_LENGTH} characters)`);
    }
    if (header.module !== 'command' || header.operation !== 'update') {
      throw errors.VALIDATION(`Line ${line}: only module "command" with operation "update" is accepted here`);
    }
    const result = isObject(data) && isObject(data.command) ? data.command.result : undefined;
    if (!isObject(result) || !isResultCode(result.code) || typeof result.message !== 'string') {
      throw errors.VALIDATION(`Line ${line + 1}: expected {"command":{"result":{"code":<64-bit integer>,"message":<string>}}}`);
    }
    if (result.message.length > MAX_RESULT_MESSAGE_LENGTH) {
      throw errors.VALIDATION(`Line ${line + 1}: the message is longer than ${MAX_RESULT_MESSAGE_LENGTH} characters`);
    }
    if (result.data !== undefined) assertWithinLimits(result.data, RESULT_DATA_LIMITS, `line ${line + 1}: command.result.data`);
    reports.push({
      document_id: header.id,
      code: result.code,
      message: result.message,
      ...(result.data !== undefined ? { data: result.data } : {}),
    });
  }
  return reports;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
