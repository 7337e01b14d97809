/**
 * A small glob matcher for `quorum batch` inputs (Node 20 has no fs.glob). Supports, per path
 * segment: `*` (any run of characters but `/`), `?` (one character), character classes
 * `[abc]`, `[a-z]`, `[!x]` / `[^x]` and `[[:alpha:]]`-style POSIX classes, `\` escapes, and
 * across segments `**` (any number of folders, none included) and `{a,b}` alternatives (nested,
 * may contain `/`). As in a shell, a wildcard never matches a leading dot: `.git` matches only
 * a pattern segment that itself starts with a dot.
 */

/** More alternatives than this from one pattern's braces is a UsageError upstream, not a walk. */
export const MAX_BRACE_EXPANSIONS = 1024;

/**
 * Bash-style brace expansion: `specs/{a,b}/*.{md,txt}` gives four patterns. A brace pair with no
 * top-level comma (`{x}`) or without a match stays literal. Results are in order, deduplicated.
 */
export function expandBraces(pattern: string): string[] {
  const out = new Set<string>();
  const expand = (p: string): void => {
    for (let i = 0; i < p.length; i++) {
      const c = p[i];
      if (c === '\\') {
        i++;
        continue;
      }
      if (c !== '{') continue;
      const commas: number[] = [];
      let depth = 0;
      let close = -1;
      for (let j = i; j < p.length; j++) {
        const d = p[j];
        if (d === '\\') j++;
        else if (d === '{') depth++;
        else if (d === '}' && --depth === 0) {
          close = j;
          break;
        } else if (d === ',' && depth === 1) commas.push(j);
      }
      // Unmatched, or no alternatives: this brace is literal; an inner one may still expand.
      if (close === -1 || commas.length === 0) continue;
      const bounds = [i, ...commas, close];
      for (let k = 0; k + 1 < bounds.length; k++) {
        expand(p.slice(0, i) + p.slice(bounds[k]! + 1, bounds[k + 1]) + p.slice(close + 1));
        if (out.size > MAX_BRACE_EXPANSIONS) throw new RangeError(`Expected at most ${MAX_BRACE_EXPANSIONS} alternatives from the braces in "${pattern}"`);
      }
      return;
    }
    out.add(p);
  };
  expand(pattern);
  return [...out];
}

/** Whether one brace-free path segment has wildcards (`*`, `?` or a class) outside escapes. */
export function isMagicSegment(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?') return true;
    else if (c === '[' && classEnd(segment, i) !== -1) return true;
  }
  return false;
}

/** Whether a pattern is a glob (wildcards, or braces that expand), rather than a plain path. */
export function isGlob(pattern: string): boolean {
  const expanded = expandBraces(pattern);
  return expanded.length > 1 || expanded.some((p) => p.split('/').some(isMagicSegment));
}

/** A segment's literal text with its `\` escapes removed. */
export function unescapeSegment(segment: string): string {
  return segment.replace(/\\(.)/gsu, '$1');
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  word: 'a-zA-Z0-9_',
};

/** Compiles one brace-free path segment (not `**`) to an anchored RegExp. */
export function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '\\' && i + 1 < segment.length) {
      re += escapeRegExp(segment[++i]!);
    } else if (c === '*') {
      while (segment[i + 1] === '*') i++;
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[' && classEnd(segment, i) !== -1) {
      const end = classEnd(segment, i);
      re += classRegExp(segment.slice(i + 1, end));
      i = end;
    } else {
      re += escapeRegExp(c);
    }
  }
  // A wildcard does not match a leading dot unless the pattern segment starts with one.
  const guard = segment.startsWith('.') ? '' : '(?!\\.)';
  return new RegExp(`^${guard}${re}$`, 'u');
}

/** Index of the `]` that closes the class opened at `open`, or -1 when `[` is literal. */
function classEnd(segment: string, open: number): number {
  let i = open + 1;
  if (segment[i] === '!' || segment[i] === '^') i++;
  if (segment[i] === ']') i++; // a leading ] is a member
  for (; i < segment.length; i++) {
    if (segment[i] === '\\') i++;
    else if (segment[i] === '[' && segment[i + 1] === ':') {
      const close = segment.indexOf(':]', i + 2);
      if (close !== -1) i = close + 1;
    } else if (segment[i] === ']') return i;
  }
  return -1;
}

function classRegExp(body: string): string {
  let negate = false;
  let i = 0;
  if (body[0] === '!' || body[0] === '^') {
    negate = true;
    i = 1;
  }
  let members = '';
  for (; i < body.length; i++) {
    const c = body[i]!;
    if (c === '[' && body[i + 1] === ':') {
      const close = body.indexOf(':]', i + 2);
      const name = close === -1 ? undefined : body.slice(i + 2, close);
      const posix = name === undefined ? undefined : POSIX_CLASSES[name];
      if (posix !== undefined) {
        members += posix;
        i = close + 1;
        continue;
      }
    }
    if (c === '\\' && i + 1 < body.length) members += classMember(body[++i]!);
    else if (c === '-' && i > (negate ? 1 : 0) && i < body.length - 1) members += '-';
    else members += classMember(c);
  }
  // A class never matches the path separator.
  return negate ? `[^/${members}]` : `(?!/)[${members}]`;
}

/** One literal character inside a RegExp class (escaped only where the `u` flag allows and needs it). */
function classMember(c: string): string {
  return /[\\\][^-]/.test(c) ? `\\${c}` : c;
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}
