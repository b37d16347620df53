/** Who a refused credential claimed to be, where that is known and no secret. */
export interface ClaimedIdentity {
  agentId?: string;
  /** The id part of an API key (listed by `courier keys list`; the secret is the rest of the key). */
  keyId?: string;
}

/**
 * Why a credential was refused, in words for the log only, carried as the refusal's `cause`. The
 * answer says less on purpose: an unknown agent and a wrong key get the same one, so that no one
 * can list the registered ids; the operator reading the log is told which it was.
 */
export class RefusalReason extends Error {
  constructor(
    reason: string,
    readonly identity: ClaimedIdentity = {},
  ) {
    super(reason);
    this.name = 'RefusalReason';
  }
}
