import type { Client } from '@opensearch-project/opensearch';
import { errors } from '../../errors.js';
import { isStatus } from './failures.js';

/** The indices courier uses; the prefix (default none) lets several installations share a cluster. */
export interface IndexNames {
  /** Commands, in the Wazuh schema plus `courier.*` (1 shard: the poller tails it by `_seq_no`). */
  commands: string;
  /** The audit trail: one document per transition of a command or a job, per refused operator request, per change of an agent's groups. */
  audit: string;
  /** Registered agents. */
  agents: string;
  /** Operators' API keys (hashed). */
  apiKeys: string;
  /** Agent enrollment tokens (hashed). */
  enrollmentTokens: string;
  /** Courier's own bookkeeping: each node's poller cursor. */
  state: string;
  /** The nodes of the cluster: how each is reached by the others (see `ClusterDirectory`). */
  nodes: string;
  /** Which node each agent (route) is connected to: Wazuh's `persistent_connection_node`, per route. */
  connections: string;
  /** Jobs: one document each, with the lease of the node that drives it. */
  jobs: string;
}

export function indexNames(prefix = ''): IndexNames {
  return {
    commands: `${prefix}wazuh-commands`,
    audit: `${prefix}courier-audit`,
    agents: `${prefix}wazuh-agents`,
    apiKeys: `${prefix}courier-api-keys`,
    enrollmentTokens: `${prefix}courier-enrollment-tokens`,
    state: `${prefix}courier-state`,
    nodes: `${prefix}courier-nodes`,
    connections: `${prefix}courier-connections`,
    jobs: `${prefix}courier-jobs`,
  };
}

const keyword = { type: 'keyword', ignore_above: 1024 } as const;
// Times courier writes are ms since the epoch; Wazuh's own dates are ISO strings. Both parse.
const date = { type: 'date', format: 'strict_date_optional_time||epoch_millis' } as const;
// Kept in _source, not indexed: free-form JSON whose shape differs from one command to the next.
const opaque = { type: 'object', enabled: false } as const;

/** Courier's fields in a command document. Also added to an existing index that lacks them. */
export const COURIER_COMMAND_FIELDS = {
  properties: {
    status: keyword,
    route: keyword,
    seq: { type: 'long' },
    owner: keyword,
    job: { properties: { id: keyword, step: { type: 'integer' }, attempt: { type: 'integer' } } },
    delivered_at: date,
    execution_deadline: date,
    attempts: { type: 'integer' },
    claim: { properties: { node: keyword, until: date } },
    updated_at: date,
  },
} as const;

/** The Wazuh `wazuh-commands` mapping, plus `courier.*`. */
export const COMMANDS_MAPPING = {
  date_detection: false,
  dynamic: true,
  properties: {
    '@timestamp': date,
    delivery_timestamp: date,
    agent: { properties: { id: keyword, groups: keyword } },
    command: {
      properties: {
        source: keyword,
        user: keyword,
        target: { properties: { type: keyword, id: keyword } },
        action: { properties: { name: keyword, args: opaque, version: keyword } },
        timeout: { type: 'integer' },
        status: keyword,
        result: { properties: { code: { type: 'integer' }, message: keyword, data: opaque } },
        request_id: keyword,
        order_id: keyword,
      },
    },
    courier: COURIER_COMMAND_FIELDS,
  },
} as const;

/**
 * An audit record's id is its `_seq_no` (+1): the order in which records were written, across
 * nodes. Transitions carry the fields of their command that operators filter on, so that the
 * trail can be searched without a join.
 */
const AUDIT_MAPPING = {
  dynamic: 'strict',
  properties: {
    kind: keyword,
    document_id: keyword,
    job_id: keyword,
    agent_id: keyword,
    groups: keyword,
    previous_groups: keyword,
    key_id: keyword,
    from: keyword,
    to: keyword,
    cause: keyword,
    at: date,
    node: keyword,
    actor: keyword,
    detail: { type: 'keyword', index: false },
    /** The command document's `_seq_no` the change was conditioned on (before it): orders one command's trail. */
    order: { type: 'long' },
    command: {
      properties: {
        route: keyword,
        target_type: keyword,
        target_id: keyword,
        action: keyword,
        request_id: keyword,
        agent_id: keyword,
        agent_groups: keyword,
      },
    },
  },
} as const;

/**
 * Wazuh's agent document: `agent.id`, `agent.key` (the hash of the key: courier's, or Wazuh's own
 * PBKDF2), `agent.groups`, and the rest of what Wazuh's registration writes (name, type, version,
 * status, last login, host…), kept as written: the `agent` object takes fields it does not map
 * (`dynamic: false`: stored, not indexed), or Wazuh could not register an agent in an index courier made.
 */
export const AGENT_FIELDS = {
  dynamic: false,
  properties: {
    id: keyword,
    key: { type: 'keyword', index: false },
    groups: keyword,
    name: keyword,
    type: keyword,
    version: keyword,
    status: keyword,
    is_connected: { type: 'boolean' },
    last_login: date,
  },
} as const;

const AGENTS_MAPPING = {
  dynamic: 'strict',
  properties: {
    agent: AGENT_FIELDS,
    courier: { properties: { created_at: date } },
  },
} as const;

const API_KEYS_MAPPING = {
  dynamic: 'strict',
  properties: {
    id: keyword,
    name: keyword,
    role: keyword,
    scopes: keyword,
    key_hash: { type: 'keyword', index: false },
    created_at: date,
    revoked_at: date,
    expires_at: date,
    last_used_at: date,
  },
} as const;

/** Redeeming a token updates its document on its version (`if_seq_no`), so `uses` never passes `max_uses`. */
const ENROLLMENT_TOKENS_MAPPING = {
  dynamic: 'strict',
  properties: {
    id: keyword,
    token_hash: { type: 'keyword', index: false },
    groups: keyword,
    created_at: date,
    created_by: keyword,
    expires_at: date,
    max_uses: { type: 'integer' },
    uses: { type: 'integer' },
    revoked_at: date,
  },
} as const;

const STATE_MAPPING = {
  dynamic: 'strict',
  properties: { node: keyword, cursor: { type: 'long' }, index_uuid: keyword, updated_at: date },
} as const;

/** A node's card: where the others reach its management API, the CA they pin, the secret they present. */
const NODES_MAPPING = {
  dynamic: 'strict',
  properties: {
    node: keyword,
    url: { type: 'keyword', index: false },
    ca_fingerprint: { type: 'keyword', index: false },
    secret: { type: 'keyword', index: false },
    seen_at: date,
  },
} as const;

const CONNECTIONS_MAPPING = {
  dynamic: 'strict',
  properties: { route: keyword, node: keyword, transport: keyword, since: date },
} as const;

/** A job's document: what it is filtered and sorted on is indexed; the rest (spec, targets, machine snapshot) is kept as written. */
const JOBS_MAPPING = {
  dynamic: 'strict',
  properties: {
    id: keyword,
    name: keyword,
    status: keyword,
    created_at: date,
    updated_at: date,
    owner: keyword,
    lease: { properties: { node: keyword, until: date } },
    record: opaque,
  },
} as const;

const TEMPLATE_META = { managed_by: 'courier', version: 1 };
// Above the default (0) so that an overlapping template of the same priority cannot block ours.
const TEMPLATE_PRIORITY = 200;

/**
 * How often the cluster refreshes each index on its own (OpenSearch's default is every second,
 * for every index that is searched). Courier refreshes what it searches itself, right before (the
 * tail, history, lists), so the cluster's own refreshes serve only other readers: every 5 s as
 * Wazuh's template does for `wazuh-commands`, and never for the indices read by id (realtime):
 * courier-state, the nodes' cards and the connection records. Each refresh of an index with new
 * writes makes a segment to merge later: at 200 commands/s these scheduled refreshes were 2 of the
 * cluster's 4 refreshes per second.
 */
const REFRESH_INTERVAL = { commands: '5s', audit: '5s', byId: '-1' } as const;

function templates(names: IndexNames) {
  const one = (index: string, mappings: object, refreshInterval?: string) => ({
    name: `${index}-courier`,
    body: {
      index_patterns: [index],
      priority: TEMPLATE_PRIORITY,
      _meta: TEMPLATE_META,
      template: { settings: { number_of_shards: 1, ...(refreshInterval ? { refresh_interval: refreshInterval } : {}) }, mappings },
    },
  });
  return [
    one(names.commands, COMMANDS_MAPPING, REFRESH_INTERVAL.commands),
    one(names.audit, AUDIT_MAPPING, REFRESH_INTERVAL.audit),
    one(names.agents, AGENTS_MAPPING),
    one(names.apiKeys, API_KEYS_MAPPING),
    one(names.enrollmentTokens, ENROLLMENT_TOKENS_MAPPING),
    one(names.state, STATE_MAPPING, REFRESH_INTERVAL.byId),
    one(names.nodes, NODES_MAPPING, REFRESH_INTERVAL.byId),
    one(names.connections, CONNECTIONS_MAPPING, REFRESH_INTERVAL.byId),
    one(names.jobs, JOBS_MAPPING),
  ];
}

export interface IndexSetup {
  /** Templates this call created (absent ones only). */
  createdTemplates: string[];
  /** Indices this call created (absent ones only). */
  createdIndices: string[];
  /**
   * True when `command.result.data` is mapped as a keyword (an index made from Wazuh's own
   * template): then a structured result is stored as its JSON text.
   */
  resultDataAsText: boolean;
}

/**
 * Installs courier's index templates and creates its indices, each only if missing, so that any
 * number of nodes may run it at once. An existing commands index gets courier's fields added to its
 * mapping, and must have one primary shard (the poller's `_seq_no` cursor relies on it).
 */
export async function ensureIndices(client: Client, names: IndexNames): Promise<IndexSetup> {
  const setup: IndexSetup = { createdTemplates: [], createdIndices: [], resultDataAsText: false };
  for (const { name, body } of templates(names)) {
    const exists = await client.indices.existsIndexTemplate({ name });
    if (exists.body) continue;
    try {
      await client.indices.putIndexTemplate({ name, create: true, body });
      setup.createdTemplates.push(name);
    } catch (error) {
      // Another node created it a moment ago.
      if (!isStatus(error, 400) || !/already exists/.test(String((error as Error).message))) throw error;
    }
  }
  for (const index of Object.values(names) as string[]) {
    try {
      // The template gives the settings and mappings.
      await client.indices.create({ index });
      setup.createdIndices.push(index);
    } catch (error) {
      if (!isStatus(error, 400) || !/resource_already_exists/.test(String((error as Error).message))) throw error;
    }
  }
  // An index another node has just created may still be recovering its primary shard, and refuses
  // reads until it has started: wait for every primary (yellow) before the first read.
  await client.cluster.health({ index: (Object.values(names) as string[]).join(','), wait_for_status: 'yellow', timeout: '30s' });
  await client.indices.putMapping({ index: names.commands, body: { properties: { courier: COURIER_COMMAND_FIELDS } } });
  // An audit index made before jobs, membership changes or audited keys takes their records.
  await client.indices.putMapping({
    index: names.audit,
    body: { properties: { job_id: keyword, agent_id: keyword, groups: keyword, previous_groups: keyword, key_id: keyword } },
  });
  // An API keys index made before keys could expire takes their expiry and last use.
  await client.indices.putMapping({ index: names.apiKeys, body: { properties: { expires_at: date, last_used_at: date } } });
  // An agents index made by an older courier (strict) takes Wazuh's agent documents from now on.
  await client.indices.putMapping({ index: names.agents, body: { properties: { agent: AGENT_FIELDS } } });
  const settings = await client.indices.getSettings({ index: names.commands, name: 'index.number_of_shards' });
  const shards = Number(Object.values(settings.body as Record<string, { settings: { index: { number_of_shards: string } } }>)[0]?.settings.index.number_of_shards);
  if (shards !== 1) {
    throw errors.OPENSEARCH_INDEX(names.commands, `has ${shards} primary shards; courier tails it by _seq_no, which needs exactly 1`);
  }
  const field = await client.indices.getFieldMapping({ index: names.commands, fields: 'command.result.data' });
  setup.resultDataAsText = JSON.stringify(field.body).includes('"type":"keyword"');
  return setup;
}
