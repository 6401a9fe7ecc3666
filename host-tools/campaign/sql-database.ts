// What the campaign store needs of a database, so one store runs on SQLite and on PostgreSQL. Statements
// are written once, in the SQL both accept, with `?` for parameters.

export type SqlValue = string | number | null;
export type SqlRow = Record<string, unknown>;

/** Runs statements: on the database, or inside one transaction. */
export interface Sql {
  all(sql: string, params?: SqlValue[]): Promise<SqlRow[]>;
  get(sql: string, params?: SqlValue[]): Promise<SqlRow | undefined>;
  /** Returns how many rows the statement changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
}

export type SqlDialect = 'sqlite' | 'postgres';

/** A lock held for this process until released, or until the process (or its connection) dies. */
export interface HeldLock {
  /** True once the lock may be held by someone else (its connection broke): work under it must stop. */
  readonly lost: boolean;
  release(): Promise<void>;
}

export interface SqlDatabase extends Sql {
  readonly dialect: SqlDialect;
  /** Where it is, for messages: a file, or a URL with its password masked. */
  readonly where: string;
  /**
   * Runs `fn` as one transaction, committed if it resolves and rolled back if it throws. Transactions on
   * one database run one at a time, across processes too, as SQLite's do.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Whether runners on several machines can reach it (PostgreSQL), so several benches can share a campaign.
   * A SQLite file is one machine's, and its campaign has one runner at a time.
   */
  readonly shared: boolean;
  /**
   * Takes lock `key` unless another process holds it (null then), without waiting. It is held until released
   * or this process dies, however long that is, so it is no transaction's.
   */
  tryLock(key: number): Promise<HeldLock | null>;
  /** Runs a script of statements without parameters (a schema), in one transaction. */
  script(sql: string): Promise<void>;
  hasTable(name: string): Promise<boolean>;
  hasColumn(table: string, column: string): Promise<boolean>;
  close(): Promise<void>;
}
