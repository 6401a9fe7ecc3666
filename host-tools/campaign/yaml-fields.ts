// Reading the campaign YAML files (fleet inventory, campaign plan) strictly: every value is checked and
// unknown keys are refused, so a typo is an error that names the file and the key, not a silent default.
import * as fs from 'fs';
import { parseDocument } from 'yaml';
import { normaliseEui } from '../../firmware/core/bytes';
import { UsageError } from '../link/port-option';

/** A problem in a campaign file; a usage error, so `chub` exits 2. */
export class ConfigError extends UsageError {
  constructor(readonly file: string, readonly key: string, problem: string) {
    super(`${file}: ${key ? `${key}: ` : ''}${problem}`);
    this.name = 'ConfigError';
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** One value of a YAML file with the path of keys that led to it, e.g. hubs[3].devices[1].eui. */
export class Field {
  constructor(readonly file: string, readonly key: string, readonly value: unknown) {}

  fail(problem: string): never {
    throw new ConfigError(this.file, this.key, problem);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  /** A mapping holding only `allowed` keys. */
  mapping(allowed: string[]): this {
    const v = this.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(`want a mapping, not ${describe(v)}`);
    for (const k of Object.keys(v as object)) {
      if (!allowed.includes(k)) this.child(k).fail(`unknown key (known: ${allowed.join(', ')})`);
    }
    return this;
  }

  child(key: string): Field {
    const v = this.value as Record<string, unknown> | null | undefined;
    return new Field(this.file, this.key ? `${this.key}.${key}` : key, v == null ? undefined : v[key]);
  }

  required(key: string): Field {
    const f = this.child(key);
    if (!f.present) f.fail('is required');
    return f;
  }

  list(): Field[] {
    if (!Array.isArray(this.value)) this.fail(`want a list, not ${describe(this.value)}`);
    return (this.value as unknown[]).map((v, i) => new Field(this.file, `${this.key}[${i}]`, v));
  }

  string(): string {
    // YAML reads 0.2.0 as a string but 2 as a number: a bare number where a name is wanted is still a name.
    if (typeof this.value === 'number') return String(this.value);
    if (typeof this.value !== 'string' || this.value.trim() === '') this.fail(`want a non-empty string, not ${describe(this.value)}`);
    return this.value as string;
  }

  /** An EUI-64 in canonical form. YAML reads an all-digit EUI as a number, losing its leading zeros. */
  eui(): string {
    if (typeof this.value === 'number') this.fail(`${this.value} is a number to YAML: quote the EUI-64 ("0000000000000001")`);
    return normaliseEui(this.string()) ?? this.fail(`"${this.value}" is not an EUI-64 (16 hex digits)`);
  }

  stringList(): string[] {
    return this.list().map((f) => f.string());
  }

  number(min: number, max = Number.MAX_SAFE_INTEGER, integer = true): number {
    const v = this.value;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max)
      this.fail(`want ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, not ${describe(v)}`);
    return v as number;
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail(`want true or false, not ${describe(this.value)}`);
    return this.value as boolean;
  }

  oneOf<T extends string>(choices: readonly T[]): T {
    const s = this.string();
    if (!choices.includes(s as T)) this.fail(`want one of ${choices.join(', ')}, not "${s}"`);
    return s as T;
  }
}

/** Parses `text` (the contents of `file`) as one YAML document; syntax errors name the line. */
function parseYaml(text: string, file: string): Field {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) throw new ConfigError(file, '', `not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  return new Field(file, '', doc.toJS());
}

export function readYamlFile(file: string): { text: string; root: Field } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, '', `cannot read: ${(e as Error).message}`);
  }
  return { text, root: parseYaml(text, file) };
}
