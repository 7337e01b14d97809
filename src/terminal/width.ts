import stringWidth from 'string-width';

/**
 * Display widths for the terminal views. Every width comes from `string-width` (wide CJK and
 * emoji take two columns, combining marks none); text is only ever cut between graphemes, so a
 * cut never splits an emoji or leaves a dangling accent. The views print no ANSI colours, so
 * the text measured here is exactly the text shown.
 */

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/**
 * Text from a model, a provider or a panel file, made safe for one terminal line: control
 * characters (ESC included, so no text can move the cursor or recolour the screen) and line
 * breaks become single spaces.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** `text` if it fits in `max` columns, else its start and `…`, at most `max` columns in all. */
export function cutToWidth(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  if (max <= 0) return '';
  let kept = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = displayWidth(segment);
    if (used + w > max - 1) break;
    kept += segment;
    used += w;
  }
  return `${kept}…`;
}

/**
 * `text` if it fits in `max` columns, else its start, `…` and its end: for model ids, whose
 * provider prefix and `:free`-style suffix both tell models apart.
 */
export function elideMiddle(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  if (max <= 1) return cutToWidth(text, max);
  const parts = [...graphemes.segment(text)].map(({ segment }) => segment);
  const room = max - 1;
  const headRoom = Math.ceil(room / 2);
  let head = '';
  let used = 0;
  let i = 0;
  for (; i < parts.length; i++) {
    const w = displayWidth(parts[i]!);
    if (used + w > headRoom) break;
    head += parts[i];
    used += w;
  }
  let tail = '';
  for (let j = parts.length - 1; j >= i; j--) {
    const w = displayWidth(parts[j]!);
    if (used + w > room) break;
    tail = parts[j] + tail;
    used += w;
  }
  return `${head}…${tail}`;
}

/** `text` padded with spaces to `width` columns (text already that wide is left as it is). */
export function padToWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/**
 * Rows a line of `width` columns takes on a terminal `columns` wide: a line exactly as wide as
 * the terminal still takes one row (the cursor waits at its end until the next character).
 */
export function rowsOf(width: number, columns: number): number {
  return Math.max(1, Math.ceil(width / Math.max(1, columns)));
}
