import type { CommandView } from '../domain/command.js';

/** More commands than this in one answer are listed as references, not documents. */
export const ABRIDGE_ABOVE = 1000;
/** Nor is an answer whose documents would be larger than this (their args, repeated per member). */
const ABRIDGE_BYTES = 4 * 1024 * 1024;

/**
 * The answer to a create. A fan-out's documents repeat the same action for every member: 50,000
 * members with large args once made an answer too large to serialize, after every command was
 * stored (and the producer, told 500, retried it all). Past a bound the answer lists references:
 * each command's id, agent, request and status, from which everything else can be read.
 */
export function createdAnswer(commands: CommandView[]) {
  if (commands.length <= ABRIDGE_ABOVE && estimatedBytes(commands) <= ABRIDGE_BYTES) {
    return { commands, total: commands.length, abridged: false };
  }
  return {
    commands: commands.map((c) => ({ document_id: c.document_id, agent_id: c.agent.id, request_id: c.request_id, status: c.status })),
    total: commands.length,
    abridged: true,
  };
}

/** A rough size of the documents' JSON: their args (measured once per distinct args object) and the rest. */
function estimatedBytes(commands: CommandView[]): number {
  const argsBytes = new Map<object, number>();
  let bytes = 0;
  for (const c of commands) {
    let args = argsBytes.get(c.action.args);
    if (args === undefined) argsBytes.set(c.action.args, (args = JSON.stringify(c.action.args).length));
    bytes += 600 + args;
  }
  return bytes;
}
