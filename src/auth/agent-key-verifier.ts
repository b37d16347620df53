import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hashSecret, verifySecret } from './secret-hash.js';
import { isWazuhKeyHash, verifyWazuhKey } from './wazuh-key-hash.js';

/** One entry per agent: ~200 bytes each, so 100,000 agents hold ~20 MB at most. */
const DEFAULT_MAX_ENTRIES = 100_000;

/** A key that passed, as a keyed fast hash, and the stored hash it passed against. */
interface Verified {
  digest: Buffer;
  stored: string;
}

export interface AgentKeyVerifierOptions {
  /** Most agents remembered; past it, the least recently verified is forgotten. */
  maxEntries?: number;
  /**
   * What a check for an unknown agent costs, so that the time of a refusal does not tell an
   * unknown id from a registered one: `wazuh` where agents registered by Wazuh (PBKDF2) can be
   * found (OpenSearch), `courier` otherwise.
   */
  unknownAgentCost: 'wazuh' | 'courier';
  /** The full check of a Wazuh-format key (tests count its calls). */
  checkWazuhKey?: (key: string, stored: string) => Promise<boolean>;
}

/**
 * Checks an agent's key against its stored hash, in either format: courier's (`sha256$…`, a
 * microsecond) or Wazuh's (PBKDF2, tens of ms, on the thread pool). A successful Wazuh-format check
 * is remembered per agent, as an HMAC of the key that passed and the stored hash it passed against,
 * so that a fleet's re-authentications (every agent every 15 minutes) cost an HMAC, not a PBKDF2.
 * When the stored hash changes (the agent registered again) the entry no longer matches and the
 * key is checked in full again; a wrong key never matches and is checked in full each time.
 */
export class AgentKeyVerifier {
  private readonly verified = new Map<string, Verified>();
  /** A secret of this process: what the cache holds cannot be used to test guesses of a key offline. */
  private readonly pepper = randomBytes(32);
  private readonly maxEntries: number;
  private readonly checkWazuhKey: (key: string, stored: string) => Promise<boolean>;
  /** Hashes of no key at all, checked against for unknown agents. */
  private readonly decoys = { wazuh: randomBytes(48).toString('base64'), courier: hashSecret(randomBytes(32).toString('hex')) };

  constructor(private readonly options: AgentKeyVerifierOptions) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.checkWazuhKey = options.checkWazuhKey ?? verifyWazuhKey;
  }

  async verify(agentId: string, key: string, stored: string): Promise<boolean> {
    if (!isWazuhKeyHash(stored)) return verifySecret(key, stored);
    const digest = this.digest(key);
    const hit = this.verified.get(agentId);
    if (hit && hit.stored === stored && timingSafeEqual(hit.digest, digest)) {
      // Map order is recency: the first entry is the one evicted.
      this.verified.delete(agentId);
      this.verified.set(agentId, hit);
      return true;
    }
    if (!(await this.checkWazuhKey(key, stored))) return false;
    this.verified.delete(agentId);
    if (this.verified.size >= this.maxEntries) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(agentId, { digest, stored });
    return true;
  }

  /** Takes as long as checking a key of a registered agent would (the answer is always no). */
  async decoy(key: string): Promise<void> {
    if (this.options.unknownAgentCost === 'wazuh') await this.checkWazuhKey(key, this.decoys.wazuh);
    else verifySecret(key, this.decoys.courier);
  }

  /** The agent is gone: its entry would never match again, so it need not take room. */
  forget(agentId: string): void {
    this.verified.delete(agentId);
  }

  /** Agents remembered right now. */
  get size(): number {
    return this.verified.size;
  }

  private digest(key: string): Buffer {
    return createHmac('sha256', this.pepper).update(key, 'utf8').digest();
  }
}
