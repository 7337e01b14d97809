import type { SqlResult, SqlValue } from './values.js';

export const SQL_FORMATS = ['table', 'csv', 'json', 'markdown'] as const;
export type SqlFormat = (typeof SQL_FORMATS)[number];

export interface FormatOptions {
  /** Table format only: longer text cells are cut with "…" (csv, json and markdown never cut). Default 72. */
  maxCellChars?: number;
  /**
   * CSV only: write text cells exactly as they are. By default a text cell (or column name) that
   * starts with `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'`, so a spreadsheet opening the
   * file shows it as text instead of running it as a formula (OWASP, "CSV Injection"). Numbers are
   * never changed. `quorum sql --csv-raw` turns the guard off.
   */
  csvRaw?: boolean;
}

/**
 * Renders a result for the terminal or a file:
 * - `table`: aligned columns, numbers right-aligned with their decimal points lined up and
 *   thousands grouped from 10,000 up, NULL shown as `NULL`, a row count last;
 * - `csv`: RFC 4180 (CRLF line ends, fields quoted when they hold `"`, `,`, CR or LF), a header row, NULL empty;
 *   text that a spreadsheet would run as a formula gets a leading `'` (see `csvRaw`);
 * - `json`: one array of row objects, one row per line, every integer (BIGINT too) a JSON number;
 * - `markdown`: a GitHub table, cells escaped so text never breaks the table or renders as markup.
 * Lists and structs are JSON text in table, csv and markdown cells.
 */
export function formatResult(result: SqlResult, format: SqlFormat, options: FormatOptions = {}): string {
  switch (format) {
    case 'table':
      return formatTable(result, options.maxCellChars ?? 72);
    case 'csv':
      return formatCsv(result, options.csvRaw ?? false);
    case 'json':
      return formatJson(result);
    case 'markdown':
      return formatMarkdown(result);
  }
}

/** JSON text of a value; bigints are written as exact JSON numbers, NaN/±Infinity as null. */
export function jsonText(value: SqlValue): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
}

/** Plain text of a cell: scalars as themselves, lists and structs as JSON; NULL is ''. */
function plainText(value: SqlValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return jsonText(value);
}

function formatJson(result: SqlResult): string {
  const names = uniqueNames(result.columns.map((c) => c.name));
  if (result.rows.length === 0) return '[]\n';
  const rows = result.rows.map((row) => `{${names.map((n, c) => `${JSON.stringify(n)}:${jsonText(row[c] ?? null)}`).join(',')}}`);
  return `[\n${rows.join(',\n')}\n]\n`;
}

/** Duplicate column names (`SELECT 1 AS a, 2 AS a`) get `_2`, `_3`… so no JSON key is lost. */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n}_${k}`;
  });
}

/** A cell a spreadsheet would read as a formula (or DDE call): OWASP's list of leading characters. */
const FORMULA_START = /^[=+\-@\t\r]/;

/** `text` with a leading `'` when a spreadsheet would run it as a formula. */
export function guardFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

function formatCsv(result: SqlResult, raw: boolean): string {
  const field = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  // Numbers (a negative one starts with "-") stay numbers; only text is guarded.
  const text = (v: SqlValue) => (raw || typeof v === 'number' || typeof v === 'bigint' ? plainText(v) : guardFormula(plainText(v)));
  const lines = [result.columns.map((c) => field(raw ? c.name : guardFormula(c.name))), ...result.rows.map((row) => row.map((v) => field(text(v))))];
  return result.columns.length === 0 ? '' : `${lines.map((l) => l.join(',')).join('\r\n')}\r\n`;
}

function formatMarkdown(result: SqlResult): string {
  if (result.columns.length === 0) return '';
  const cell = (text: string) =>
    text
      .replace(/[\\`*_[\]<>|#~]/g, (ch) => (ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : `\\${ch}`))
      .replace(/\r\n|\r|\n/g, '<br>');
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return (
    [
      line(result.columns.map((c) => cell(c.name))),
      line(result.columns.map((c) => (c.numeric ? '---:' : '---'))),
      ...result.rows.map((row) => line(row.map((v) => cell(plainText(v))))),
    ].join('\n') + '\n'
  );
}

function formatTable(result: SqlResult, maxChars: number): string {
  const { columns, rows } = result;
  const count = `(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
  if (columns.length === 0) return count;
  const cells = columns.map((col, c) => {
    const values = rows.map((row) => row[c] ?? null);
    if (col.numeric) return numberCells(values);
    return values.map((v) => (v === null ? 'NULL' : cut(printable(plainText(v)), maxChars)));
  });
  // A loop, not Math.max(...cells): spreading a million cells overflows the call stack.
  const widths = columns.map((col, c) => cells[c]!.reduce((w, s) => Math.max(w, s.length), col.name.length));
  const pad = (text: string, c: number) => (columns[c]!.numeric ? text.padStart(widths[c]!) : text.padEnd(widths[c]!));
  const out = [
    columns.map((col, c) => pad(col.name, c)).join('  ').trimEnd(),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map((_, r) => columns.map((_, c) => pad(cells[c]![r]!, c)).join('  ').trimEnd()),
  ];
  return `${out.join('\n')}\n${count}`;
}

/** Numbers of one column, with as many decimals as the most precise needs (at most 6), so the points line up. */
function numberCells(values: SqlValue[]): string[] {
  const decimals = Math.min(
    6,
    values.reduce<number>((d, v) => Math.max(d, typeof v === 'number' && Number.isFinite(v) ? fractionDigits(v) : 0), 0),
  );
  return values.map((v) => {
    if (v === null) return 'NULL';
    if (typeof v === 'bigint') return group(v.toString());
    if (typeof v !== 'number') return plainText(v);
    if (!Number.isFinite(v)) return String(v);
    return group(v.toFixed(decimals));
  });
}

function fractionDigits(v: number): number {
  const text = String(v);
  const e = /e-(\d+)$/.exec(text);
  if (e) return Number(e[1]) + (text.split('e')[0]!.split('.')[1]?.length ?? 0);
  return text.split('.')[1]?.length ?? 0;
}

/** 1234567.5 → 1,234,567.5; numbers below 10,000 stay as they are (ports, years, counts). */
function group(text: string): string {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(text);
  if (!m || m[2]!.length < 5) return text;
  return `${m[1]}${m[2]!.replace(/\B(?=(\d{3})+$)/g, ',')}${m[3] ?? ''}`;
}

/** Control characters (newlines, tabs) would break the grid; show them escaped. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it escapes
  return text.replace(/[\u0000-\u001f\u007f]/g, (ch) => (ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === '\r' ? '\\r' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}
