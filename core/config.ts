// Configuration: Kafka's own key names at the edge, typed fields inside.
//
// Defaults follow Apache Kafka 4.1 in KRaft mode (sources in docs/notes/kafka-data-plane.md).
// Where ksim uses another default, for simulation speed or to make a mechanism observable in a
// short run, the entry says so in `ksimDefault` and the README's config table repeats it.
// `fix.*` keys switch historical bugs back on (the bug zoo, DESIGN.md §3): each defaults to true.
//
// Every key is known: an unknown key, or a value of the wrong type, is an error naming the key.

export type ConfigValue = number | boolean | string;

export interface ConfigEntry {
  /** Kafka's (or ksim's, for `fix.*`) key. */
  readonly key: string;
  readonly type: 'int' | 'boolean' | 'string';
  readonly default: ConfigValue;
  /** Apache Kafka's default, when ksim's differs (and why, in `note`). */
  readonly kafkaDefault?: ConfigValue;
  readonly allowed?: readonly string[];
  readonly min?: number;
  readonly doc: string;
  readonly note?: string;
}

const MAX = Number.MAX_SAFE_INTEGER;

export const CONFIG: readonly ConfigEntry[] = [
  // Topic / broker log and replication
  {
    key: 'min.insync.replicas',
    type: 'int',
    default: 1,
    min: 1,
    doc: 'ISR size below which acks=all produce is refused (and, with KIP-966, the high watermark stops)',
  },
  { key: 'unclean.leader.election.enable', type: 'boolean', default: false, doc: 'elect an out-of-sync replica when no ISR (or ELR) member is available' },
  { key: 'replica.lag.time.max.ms', type: 'int', default: 30_000, min: 1, doc: 'a follower not caught up for this long leaves the ISR' },
  { key: 'replica.fetch.wait.max.ms', type: 'int', default: 500, min: 0, doc: 'long-poll time of a follower fetch' },
  { key: 'replica.fetch.backoff.ms', type: 'int', default: 1000, min: 0, doc: 'follower back-off after a fetch error' },
  { key: 'replica.fetch.max.bytes', type: 'int', default: 1_048_576, min: 1, doc: 'bytes per partition in one fetch' },
  { key: 'replica.socket.timeout.ms', type: 'int', default: 30_000, min: 1, doc: 'a follower fetch without a response for this long is abandoned' },
  { key: 'replica.high.watermark.checkpoint.interval.ms', type: 'int', default: 5000, min: 1, doc: 'how often the high watermarks are checkpointed' },
  { key: 'log.flush.interval.messages', type: 'int', default: MAX, min: 1, doc: 'fsync the log after this many messages (Kafka: never)' },
  { key: 'log.flush.interval.ms', type: 'int', default: MAX, min: 1, doc: 'fsync the log when its oldest unflushed message is this old (Kafka: never)' },
  { key: 'log.flush.offset.checkpoint.interval.ms', type: 'int', default: 60_000, min: 1, doc: 'how often recovery points are checkpointed' },
  {
    key: 'log.segment.bytes',
    type: 'int',
    default: 65_536,
    kafkaDefault: 1_073_741_824,
    min: 1024,
    doc: 'segment size before the log rolls a new segment',
    note: 'small so that segment rolls (and their fsync) happen within a simulated minute',
  },
  { key: 'log.index.interval.bytes', type: 'int', default: 4096, min: 1, doc: 'bytes between offset-index entries' },
  { key: 'broker.heartbeat.interval.ms', type: 'int', default: 2000, min: 1, doc: 'broker heartbeat period' },
  { key: 'broker.session.timeout.ms', type: 'int', default: 9000, min: 1, doc: 'a broker without a heartbeat for this long is fenced' },
  {
    key: 'metadata.fetch.wait.max.ms',
    type: 'int',
    default: 500,
    min: 0,
    doc: 'long-poll time of a broker fetching the metadata log',
    note: 'ksim name; KRaft brokers fetch the metadata log with Fetch (same long poll)',
  },
  // Producer
  { key: 'acks', type: 'string', default: 'all', allowed: ['all', '-1', '1', '0'], doc: 'acknowledgements the producer waits for' },
  { key: 'enable.idempotence', type: 'boolean', default: true, doc: 'producer ids and sequence numbers: retries never duplicate or reorder' },
  { key: 'linger.ms', type: 'int', default: 5, min: 0, doc: 'how long the producer waits to fill a batch' },
  { key: 'batch.size', type: 'int', default: 16_384, min: 1, doc: 'bytes per producer batch' },
  { key: 'retries', type: 'int', default: 2_147_483_647, min: 0, doc: 'producer retries of a failed batch' },
  { key: 'delivery.timeout.ms', type: 'int', default: 120_000, min: 1, doc: 'a send fails if not acknowledged within this time' },
  {
    key: 'request.timeout.ms',
    type: 'int',
    default: 30_000,
    min: 1,
    doc: 'a client request without a response for this long is failed (and its connection closed)',
  },
  { key: 'retry.backoff.ms', type: 'int', default: 100, min: 0, doc: 'first retry back-off' },
  { key: 'retry.backoff.max.ms', type: 'int', default: 1000, min: 0, doc: 'exponential back-off cap' },
  { key: 'max.in.flight.requests.per.connection', type: 'int', default: 5, min: 1, doc: 'unacknowledged produce requests per broker' },
  { key: 'metadata.max.age.ms', type: 'int', default: 300_000, min: 1, doc: 'clients refresh metadata at least this often' },
  // Consumer
  {
    key: 'auto.offset.reset',
    type: 'string',
    default: 'earliest',
    kafkaDefault: 'latest',
    allowed: ['earliest', 'latest', 'none'],
    doc: 'where a consumer starts without a valid position',
    note: 'earliest, as Jepsen configures it, so that every record can be seen',
  },
  { key: 'fetch.max.wait.ms', type: 'int', default: 500, min: 0, doc: 'long-poll time of a consumer fetch' },
  { key: 'max.partition.fetch.bytes', type: 'int', default: 1_048_576, min: 1, doc: 'bytes per partition in one consumer fetch' },
  // The bug zoo (DESIGN.md §3)
  { key: 'fix.kip-101', type: 'boolean', default: true, doc: 'false: a follower truncates to its own high watermark on restart / becoming follower' },
  { key: 'fix.kip-279', type: 'boolean', default: true, doc: 'false: OffsetsForLeaderEpoch answers with an end offset only, one round (KAFKA-6361)' },
  { key: 'fix.kip-320', type: 'boolean', default: true, doc: 'false: fetches carry no current leader epoch; no truncation detection (KAFKA-6880)' },
  {
    key: 'fix.kafka-7128',
    type: 'boolean',
    default: true,
    doc: "false: a follower joins the ISR once its LEO reaches the leader's (possibly stale) high watermark",
  },
  { key: 'fix.maximal-isr', type: 'boolean', default: true, doc: 'false: the high watermark advances on the committed ISR while an expansion is in flight' },
  { key: 'fix.kip-903', type: 'boolean', default: true, doc: 'false: AlterPartition carries no broker epochs' },
  {
    key: 'fix.kip-966',
    type: 'boolean',
    default: true,
    doc: 'false: no Eligible Leader Replicas, no strict min ISR; the last replica standing may return truncated and lead',
  },
  {
    key: 'fix.generation-fencing',
    type: 'boolean',
    default: true,
    doc: 'false: offset commits are not checked against the group generation (consumer groups, later)',
  },
];

const BY_KEY = new Map(CONFIG.map((e) => [e.key, e]));

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type ConfigOverrides = Readonly<Record<string, ConfigValue>>;

/** Resolved configuration: every key has a value. */
export class KafkaConfig {
  private readonly values: ReadonlyMap<string, ConfigValue>;

  constructor(overrides: ConfigOverrides = {}) {
    const values = new Map<string, ConfigValue>(CONFIG.map((e) => [e.key, e.default]));
    for (const [key, raw] of Object.entries(overrides)) values.set(key, checkValue(key, raw));
    this.values = values;
  }

  int(key: string): number {
    return this.get(key, 'int') as number;
  }

  bool(key: string): boolean {
    return this.get(key, 'boolean') as boolean;
  }

  str(key: string): string {
    return this.get(key, 'string') as string;
  }

  /** The bug-zoo switch `fix.<name>`: true unless the historical bug was switched back on. */
  fix(name: string): boolean {
    return this.bool(`fix.${name}`);
  }

  /** Every key whose value differs from ksim's default. */
  get changed(): Record<string, ConfigValue> {
    const out: Record<string, ConfigValue> = {};
    for (const e of CONFIG) if (this.values.get(e.key) !== e.default) out[e.key] = this.values.get(e.key) as ConfigValue;
    return out;
  }

  /** A copy with more overrides applied. */
  with(overrides: ConfigOverrides): KafkaConfig {
    return new KafkaConfig({ ...this.changed, ...overrides });
  }

  private get(key: string, type: ConfigEntry['type']): ConfigValue {
    const e = BY_KEY.get(key);
    if (e === undefined) throw new Error(`config key ${key} is not defined`); // a programming error
    if (e.type !== type) throw new Error(`config key ${key} is a ${e.type}, not a ${type}`);
    return this.values.get(key) as ConfigValue;
  }
}

/** Check one override; strings from the command line (`--set k=v`) are converted to the key's type. */
export function checkValue(key: string, raw: ConfigValue): ConfigValue {
  const e = BY_KEY.get(key);
  if (e === undefined) {
    const near = CONFIG.filter((c) => c.key.split('.').some((part) => key.includes(part) && part.length > 3)).map((c) => c.key);
    throw new ConfigError(`unknown config key "${key}"${near.length > 0 ? ` (did you mean ${near.slice(0, 3).join(', ')}?)` : ''}`);
  }
  switch (e.type) {
    case 'boolean': {
      const v = raw === 'true' ? true : raw === 'false' ? false : raw;
      if (typeof v !== 'boolean') throw new ConfigError(`${key}: expected true or false, got ${JSON.stringify(raw)}`);
      return v;
    }
    case 'int': {
      const v = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ConfigError(`${key}: expected an integer, got ${JSON.stringify(raw)}`);
      if (e.min !== undefined && v < e.min) throw new ConfigError(`${key}: must be at least ${e.min}, got ${v}`);
      return v;
    }
    case 'string': {
      const v = typeof raw === 'number' ? String(raw) : raw;
      if (typeof v !== 'string') throw new ConfigError(`${key}: expected a string, got ${JSON.stringify(raw)}`);
      if (e.allowed !== undefined && !e.allowed.includes(v)) throw new ConfigError(`${key}: expected one of ${e.allowed.join(', ')}, got "${v}"`);
      return v;
    }
  }
}

/** The `fix.*` keys of the bug zoo. */
export const FIX_KEYS = CONFIG.filter((e) => e.key.startsWith('fix.')).map((e) => e.key);
