// The campaign database as one SQLite file (better-sqlite3), the default: nothing to set up.
import Database from 'better-sqlite3';
import { HeldLock, Sql, SqlDatabase, SqlRow, SqlValue } from './sql-database';

export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite';
  readonly shared = false;
  /**
   * better-sqlite3 is synchronous, but a transaction's body awaits: statements from other callers in this
   * process wait here until it ends, rather than land inside it.
   */
  private queue: Promise<unknown> = Promise.resolve();
  private statements = new Map<string, Database.Statement>();
  /** Statements run at once: for the body of the transaction that holds the queue. */
  private direct: Sql = {
    all: async (sql, params = []) => this.prepare(sql).all(...params) as SqlRow[],
    get: async (sql, params = []) => this.prepare(sql).get(...params) as SqlRow | undefined,
    run: async (sql, params = []) => this.prepare(sql).run(...params).changes,
  };

  private constructor(
    private db: Database.Database,
    readonly where: string,
  ) {}

  /** Opens (creating if need be) the file; `readonly` ones must exist. Those are opened for writing all the
   *  same: a file an older chub wrote gets the columns it lacks when it is opened (ADDED_COLUMNS). */
  static open(file: string, opts: { readonly?: boolean } = {}): SqliteDatabase {
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { fileMustExist: !!opts.readonly });
      if (!opts.readonly) {
        // WAL lets status and reports read while a runner writes; FULL makes each commit survive a power cut,
        // which "record the alert, then acknowledge it on the hub" relies on.
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
      }
      db.pragma('busy_timeout = 5000');
      return new SqliteDatabase(db, file);
    } catch (e) {
      db?.close();
      throw new Error(`cannot open the campaign database ${file}: ${(e as Error).message}`);
    }
  }

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.queue.then(fn);
    this.queue = r.catch(() => undefined);
    return r;
  }

  all(sql: string, params?: SqlValue[]): Promise<SqlRow[]> {
    return this.inTurn(() => this.direct.all(sql, params));
  }

  get(sql: string, params?: SqlValue[]): Promise<SqlRow | undefined> {
    return this.inTurn(() => this.direct.get(sql, params));
  }

  run(sql: string, params?: SqlValue[]): Promise<number> {
    return this.inTurn(() => this.direct.run(sql, params));
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.inTurn(async () => {
      // IMMEDIATE takes the write lock first, so another process's transaction cannot slip in between.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const r = await fn(this.direct);
        this.db.exec('COMMIT');
        return r;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  /** A SQLite campaign has one runner process at a time (the store's runs see to that): no other process can hold it. */
  async tryLock(): Promise<HeldLock> {
    return { lost: false, release: async () => undefined };
  }

  script(sql: string): Promise<void> {
    return this.inTurn(async () => {
      this.db.transaction(() => this.db.exec(sql))();
    });
  }

  async hasTable(name: string): Promise<boolean> {
    return (await this.get("SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = ?", [name])) !== undefined;
  }

  async hasColumn(table: string, column: string): Promise<boolean> {
    return (await this.get('SELECT 1 AS one FROM pragma_table_info(?) WHERE name = ?', [table, column])) !== undefined;
  }

  async close(): Promise<void> {
    await this.inTurn(async () => {
      this.db.close();
    });
  }
}
