// The campaign database on a PostgreSQL server (node-postgres), named by a postgres:// URL: for a campaign
// kept on a server rather than in a file beside the plan.
import { Client, Pool, PoolClient, types } from 'pg';
import { UsageError } from '../link/port-option';
import { HeldLock, Sql, SqlDatabase, SqlRow, SqlValue } from './sql-database';

/** postgres:// and postgresql:// URLs name a PostgreSQL database; anything else is a SQLite file. */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** The URL with its password (in the user part or as ?password=) replaced by ***, for messages. */
export function maskPassword(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:).*@/i, '$1***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** Every transaction takes this lock (per database), so they run one at a time as SQLite's do. */
const TRANSACTION_LOCK = 0x63687562; // "chub"
/** tryLock's keys are (this, key): two-key advisory locks, apart from the transactions' one-key lock. */
const HELD_LOCK_SPACE = 0x68656c64; // "held"
const CONNECT_TIMEOUT_MS = 10000;

/** Times are milliseconds since 1970, so columns are BIGINT, which pg returns as strings unless told. */
const NUMBER_INT8 = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === types.builtins.INT8 ? Number : types.getTypeParser(oid, format as 'text'))) as typeof types.getTypeParser,
};

/** The statements are written with `?` for parameters (none holds a literal `?`); pg numbers them. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function onClient(c: Pool | PoolClient): Sql {
  return {
    all: async (sql, params = []) => (await c.query(numbered(sql), params)).rows as SqlRow[],
    get: async (sql, params = []) => (await c.query(numbered(sql), params)).rows[0] as SqlRow | undefined,
    run: async (sql, params = []) => (await c.query(numbered(sql), params)).rowCount ?? 0,
  };
}

/**
 * The session that holds this process's locks (session advisory locks: they last until unlocked or the session
 * ends, so a killed runner's locks go with its connection). Opened when first needed.
 */
class LockSession {
  private client?: Promise<Client>;
  /** Why the session ended, once it has: every lock it held is gone. */
  private broken: Error | null = null;

  constructor(
    private url: string,
    private where: string,
  ) {}

  private connect(): Promise<Client> {
    return (this.client ??= (async () => {
      const c = new Client({ connectionString: this.url, types: NUMBER_INT8, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      c.on('error', (e) => (this.broken ??= e));
      c.on('end', () => (this.broken ??= new Error('the connection ended')));
      await c.connect();
      return c;
    })());
  }

  async tryLock(key: number): Promise<HeldLock | null> {
    const c = await this.connect();
    if (this.broken) throw new Error(`lost the connection to ${this.where} that held this runner's claims: ${this.broken.message}`);
    const r = await c.query('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', [HELD_LOCK_SPACE, key]);
    if (!r.rows[0].ok) return null;
    const session = this;
    return {
      get lost() {
        return session.broken !== null;
      },
      release: async () => {
        if (!session.broken) await c.query('SELECT pg_advisory_unlock($1::int, $2::int)', [HELD_LOCK_SPACE, key]);
      },
    };
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await (await c).end().catch(() => undefined); // ending lets go of every lock, which is the point
  }
}

export class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres';
  readonly shared = true;
  private sql: Sql;
  private locks: LockSession;

  private constructor(
    private pool: Pool,
    url: string,
    readonly where: string,
  ) {
    this.sql = onClient(pool);
    this.locks = new LockSession(url, where);
  }

  /** Connects, or says which database could not be reached (its URL with the password masked) and why. */
  static async open(url: string): Promise<PostgresDatabase> {
    const where = maskPassword(url);
    try {
      new URL(url);
    } catch {
      throw new UsageError(`${where} is not a PostgreSQL URL: want postgres://user:password@host:port/database`);
    }
    const pool = new Pool({ connectionString: url, types: NUMBER_INT8, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // An idle connection that breaks (the server restarts) is reported by the next statement that needs one.
    pool.on('error', () => undefined);
    try {
      await pool.query('SELECT 1');
    } catch (e) {
      await pool.end();
      const err = e as NodeJS.ErrnoException;
      throw new Error(`cannot reach the campaign database ${where}: ${err.message || err.code || String(e)}`);
    }
    return new PostgresDatabase(pool, url, where);
  }

  all(sql: string, params?: SqlValue[]): Promise<SqlRow[]> {
    return this.sql.all(sql, params);
  }

  get(sql: string, params?: SqlValue[]): Promise<SqlRow | undefined> {
    return this.sql.get(sql, params);
  }

  run(sql: string, params?: SqlValue[]): Promise<number> {
    return this.sql.run(sql, params);
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.inTransaction((c) => fn(onClient(c)));
  }

  async script(sql: string): Promise<void> {
    await this.inTransaction((c) => c.query(sql)); // without parameters, pg runs several statements at once
  }

  private async inTransaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [TRANSACTION_LOCK]);
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined); // the error that matters is e
      throw e;
    } finally {
      c.release();
    }
  }

  async hasTable(name: string): Promise<boolean> {
    return (await this.get('SELECT 1 AS one FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?', [name])) !== undefined;
  }

  async hasColumn(table: string, column: string): Promise<boolean> {
    return (await this.get('SELECT 1 AS one FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?', [table, column])) !== undefined;
  }

  tryLock(key: number): Promise<HeldLock | null> {
    return this.locks.tryLock(key);
  }

  async close(): Promise<void> {
    await this.locks.close();
    await this.pool.end();
  }
}
