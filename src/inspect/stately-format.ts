import type { AnyActorRef, InspectionEvent } from 'xstate';
import { redact } from './redact.js';

/**
 * XState inspection events in the message format of `@statelyai/inspect` (what its WebSocket
 * adapter sends and what the Stately inspector page receives): `@xstate.actor` (an actor and its
 * machine definition), `@xstate.event` (an event sent to an actor) and `@xstate.snapshot` (its
 * state after it). Courier produces them itself so that it can filter, sample and redact before
 * anything is serialised (see docs/inspector.md).
 */

/** The `@statelyai/inspect` release whose message format this follows. */
export const STATELY_PROTOCOL_VERSION = '0.7.1';

interface Base {
  sessionId: string;
  rootId: string | undefined;
  createdAt: string;
  id: string;
  _version: string;
}

export type StatelyMessage = Base &
  (
    | { type: '@xstate.actor'; name: string; definition: string; parentId: string | undefined; snapshot: unknown }
    | { type: '@xstate.event'; event: unknown; sourceId: string | undefined }
    | { type: '@xstate.snapshot'; event: unknown; snapshot: unknown }
  );

/** What the bridge buffers and converts: the inspection events the Stately inspector draws from. */
export type ConvertibleEvent = Extract<InspectionEvent, { type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot' }>;

interface ActorInternals {
  logic?: { config?: unknown };
  _parent?: AnyActorRef;
}

export class StatelyFormat {
  /** One JSON definition per machine config, not per actor (there may be 100k actors of one machine). */
  private readonly definitions = new WeakMap<object, string>();
  private seq = 0;

  toMessage(event: ConvertibleEvent, at: number): StatelyMessage {
    const base: Base = {
      sessionId: event.actorRef.sessionId,
      rootId: event.rootId,
      createdAt: String(at),
      id: String(++this.seq),
      _version: STATELY_PROTOCOL_VERSION,
    };
    switch (event.type) {
      case '@xstate.actor': {
        const actor = event.actorRef as unknown as AnyActorRef & ActorInternals;
        const { name, definition } = this.describe(actor);
        return {
          ...base,
          type: '@xstate.actor',
          name,
          definition,
          parentId: actor._parent?.sessionId,
          snapshot: snapshotJson(actor.getSnapshot()),
        };
      }
      case '@xstate.event':
        return { ...base, type: '@xstate.event', event: redact(event.event), sourceId: event.sourceRef?.sessionId };
      case '@xstate.snapshot':
        return { ...base, type: '@xstate.snapshot', event: redact(event.event), snapshot: snapshotJson(event.snapshot) };
    }
  }

  private describe(actor: AnyActorRef & ActorInternals): { name: string; definition: string } {
    const config = actor.logic?.config;
    if (typeof config !== 'object' || config === null) {
      // Not a machine (e.g. an invoked promise): the inspector shows it by name.
      return { name: actor.id, definition: JSON.stringify({ id: actor.id }) };
    }
    const id = (config as { id?: unknown }).id;
    const machineId = typeof id === 'string' ? id : 'machine';
    // Root actors are named after their machine, plus the id courier gave them (a document_id…).
    const name = actor.id === actor.sessionId ? machineId : `${machineId} ${actor.id}`;
    let definition = this.definitions.get(config);
    if (definition === undefined) {
      // Machine definitions are literal and hold no data; functions are shown by name, as the inspector expects.
      definition = JSON.stringify(config, (_key, value: unknown) => (typeof value === 'function' ? { type: (value as { name?: string }).name ?? 'anonymous' } : value));
      this.definitions.set(config, definition);
    }
    return { name, definition };
  }
}

/**
 * A snapshot as JSON: state value, status, redacted context and output, children by id.
 * (XState's own `toJSON` would also work, but the state value's keys are state names and must
 * not go through the field deny-list, and `historyValue` holds state nodes.)
 */
export function snapshotJson(snapshot: unknown): unknown {
  if (typeof snapshot !== 'object' || snapshot === null) return { status: 'active' };
  const s = snapshot as Record<string, unknown>;
  const json: Record<string, unknown> = { status: s.status ?? 'active' };
  if ('value' in s) json.value = s.value;
  if ('context' in s) json.context = redact(s.context);
  if ('input' in s) json.input = redact(s.input);
  if (s.output !== undefined) json.output = redact(s.output);
  // An Error as its name and message; anything else thrown as itself, redacted (not "[object Object]").
  if (s.error !== undefined) json.error = redact(s.error);
  if (s.tags instanceof Set && s.tags.size > 0) json.tags = [...(s.tags as Set<string>)].sort();
  if (typeof s.children === 'object' && s.children !== null) {
    json.children = Object.fromEntries(Object.entries(s.children as Record<string, { id?: string } | undefined>).map(([key, child]) => [key, { id: child?.id ?? key }]));
  }
  return json;
}
