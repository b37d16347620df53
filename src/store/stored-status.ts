import { isCommandStatus, type CommandStatus } from '../domain/command.js';
import { isJobStatus, type JobStatus } from '../domain/job.js';
import { errors } from '../errors.js';

/** A command status read back from a store (`where` names the record); refused when it is none. */
export function storedStatus(value: unknown, where: string): CommandStatus {
  if (!isCommandStatus(value)) throw errors.UNKNOWN_STORED_STATUS(String(value), where);
  return value;
}

/** The `from` of a transition: null (or absent) for a command's first. */
export function storedFromStatus(value: unknown, where: string): CommandStatus | null {
  return value === null || value === undefined ? null : storedStatus(value, where);
}

/** A job status read back from a store (`where` names the record); refused when it is none. */
export function storedJobStatus(value: unknown, where: string): JobStatus {
  if (!isJobStatus(value)) throw errors.UNKNOWN_STORED_STATUS(String(value), where);
  return value;
}

/** The `from` of a job's transition: null (or absent) for its first. */
export function storedFromJobStatus(value: unknown, where: string): JobStatus | null {
  return value === null || value === undefined ? null : storedJobStatus(value, where);
}
