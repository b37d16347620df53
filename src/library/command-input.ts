import { Compile } from 'typebox/compile';
import type { CommandSpec } from '../domain/command.js';
import { errors } from '../errors.js';
import { SubmitCommandsBody, type CommandSpecBody } from '../operator-routes/command-schemas.js';
import { toCommandSpecs } from '../operator-routes/command-routes.js';
import type { CommandInput } from './courier-api.js';

const Body = Compile(SubmitCommandsBody);

/** The public input type is the socket's body, spelled out for the declarations (this fails to compile when they part). */
const _sameShape: (input: CommandInput) => CommandSpecBody = (input) => input;

/**
 * Commands submitted in process, checked as the socket checks its body (the same schema, then the
 * same rules on actions and sizes): bad input is refused, with the field named, before anything is made.
 */
export function commandSpecs(inputs: unknown): CommandSpec[] {
  const body = { commands: inputs };
  if (!Body.Check(body)) {
    const [first] = Body.Errors(body);
    throw errors.VALIDATION(`Invalid [${(first?.instancePath ?? '/commands').slice(1).replaceAll('/', '.')}]: ${first?.message ?? 'expected an array of commands'}`);
  }
  return toCommandSpecs(body.commands);
}
