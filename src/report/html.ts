/**
 * HTML built only through `html\`…\``: every interpolated value is escaped unless it is already
 * `SafeHtml` (built by `html` itself, or marked with `trustedHtml` for the SVG the chart renderer
 * wrote). Claims, questions, model ids and messages come from models and users, so no text
 * reaches the page without passing through `escapeHtml`.
 */

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What `html` accepts in a `${}`: text and numbers are escaped, SafeHtml kept, lists joined, nullish dropped. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/** Marks markup produced by trusted code (the chart renderer's SVG) as safe; never use it on data. */
export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}
