import type { SupervisorNoticeType, SupervisorRequestType } from '../../machines/supervisor.machine.js';
import type { CommandSpec, CommandState, CommandView } from '../domain/command.js';
import type { SubmitOptions } from './producers.js';
import type { ResultOutcome, ResultReport } from './results.js';
import type { SubscriberTransport, Subscription, SubscriptionMode } from './subscription.js';
import type { OpenOptions } from './subscriptions.js';

/**
 * What each edge event carries (`request`) and, for those an edge waits on, what it is answered.
 * The supervisor machine keeps payloads opaque (it imports nothing but XState); they are typed here.
 */
export interface SupervisorRequests {
  SUBMIT: { request: { specs: CommandSpec[]; who: string | ((spec: CommandSpec) => string); options: SubmitOptions }; answer: CommandView[] };
  CANCEL: { request: { documentId: string; who: string }; answer: CommandView };
  /** `confirmed`: acks that came with the results (a WebSocket `results` frame), confirmed first, in the same event. */
  RESULTS: { request: { reports: ResultReport[]; route: string | null; who: string; confirmed?: ConfirmedRequest }; answer: ResultOutcome[] };
  SUBSCRIBE: {
    request: { route: string; mode: SubscriptionMode; who: string; transport: SubscriberTransport; options: OpenOptions };
    answer: Subscription;
  };
  CONFIRMED: { request: ConfirmedRequest; answer: string[] };
}

/** Commands a transport confirmed (acks), with the subscription they were handed to. */
export interface ConfirmedRequest {
  subscription: Subscription;
  documentIds: string[];
}

export interface SupervisorNotices {
  OBSERVED: CommandState[];
  ANNOUNCED: CommandState[];
  WRITTEN: Subscription;
  UNSUBSCRIBED: Subscription;
  REVOKE: string;
  WAKE: string;
  DEADLINES: string[];
  SHED: null;
}

// Every event type of the machine has a payload type here, and no other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const requestsCovered: Same<keyof SupervisorRequests, SupervisorRequestType> = true;
const noticesCovered: Same<keyof SupervisorNotices, SupervisorNoticeType> = true;
void requestsCovered;
void noticesCovered;
