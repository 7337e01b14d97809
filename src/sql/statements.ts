/**
 * Splits SQL text into its statements at top-level semicolons, the way DuckDB's parser does:
 * a `;` inside a string ('…', E'…'), a quoted identifier ("…"), a dollar-quoted string
 * ($$…$$, $tag$…$tag$) or a comment (-- …, nested /* … *\/) does not end a statement.
 *
 * The read-only check needs each statement's own text (to look inside `EXPLAIN ANALYZE …`,
 * which runs its statement); DuckDB's `extractStatements` gives prepared statements, not text.
 * The caller confirms every piece with DuckDB (exactly one statement each), so a piece this
 * splitter got wrong is refused, never run.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i + 2);
      i = end < 0 ? n : end + 1;
    } else if (ch === '/' && next === '*') {
      i = skipBlockComment(sql, i);
    } else if (ch === "'") {
      // E'…' strings take backslash escapes; plain ones only the doubled quote.
      const escapes = i > 0 && /[eE]/.test(sql[i - 1]!) && (i < 2 || !/[\w$]/.test(sql[i - 2]!));
      i = skipQuoted(sql, i, "'", escapes);
    } else if (ch === '"') {
      i = skipQuoted(sql, i, '"', false);
    } else if (ch === '$' && (i === 0 || !/[\w$]/.test(sql[i - 1]!))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? n : end + tag[0].length;
      } else {
        i++;
      }
    } else if (ch === ';') {
      out.push(sql.slice(start, i));
      start = ++i;
    } else {
      i++;
    }
  }
  out.push(sql.slice(start));
  return out.map((s) => s.trim()).filter((s) => stripComments(s).trim() !== '');
}

/** The statement without its comments (for keyword checks); strings are kept as they are. */
export function stripComments(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i + 2);
      i = end < 0 ? n : end + 1;
      out += ' ';
    } else if (ch === '/' && next === '*') {
      i = skipBlockComment(sql, i);
      out += ' ';
    } else if (ch === "'" || ch === '"') {
      const end = skipQuoted(sql, i, ch, false);
      out += sql.slice(i, end);
      i = end;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function skipBlockComment(sql: string, at: number): number {
  let depth = 0;
  let i = at;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

function skipQuoted(sql: string, at: number, quote: string, backslashEscapes: boolean): number {
  let i = at + 1;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (backslashEscapes && ch === '\\') {
      i += 2;
    } else if (ch === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return sql.length;
}
