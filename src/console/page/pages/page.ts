import type { Session } from '../types.js';

/** What a page is given: where to draw, the route's parts after its name, and who is looking. */
export interface PageContext {
  root: HTMLElement;
  params: string[];
  session: Session;
  /** Runs when the operator leaves the page (feeds closed, timers cleared). */
  onLeave(cleanup: () => void): void;
}

export function allows(session: Session, permission: string): boolean {
  return session.permissions.includes(permission);
}

export function errorText(error: unknown): string {
  const { message, code } = error as { message?: string; code?: string };
  return code ? `${message ?? 'Error'} (${code})` : String(message ?? error);
}
