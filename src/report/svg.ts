/**
 * Vega-Lite spec → inline SVG, at generation time, in Node: vega-lite compiles the spec to Vega,
 * and a headless Vega view (renderer 'none', so no canvas or DOM is needed) writes the scene as
 * an SVG string. The data is inline (`data.values`), so nothing is loaded; Vega escapes every
 * text and attribute it writes.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { escapeHtml } from './html.js';

export class ChartError extends Error {
  override readonly name = 'ChartError';
}

/** Collects Vega-Lite's and Vega's warnings instead of printing them. */
function collectingLogger(warnings: string[]) {
  let level = 0;
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: readonly unknown[]) {
      throw new ChartError(args.map(String).join(' '));
    },
    warn(...args: readonly unknown[]) {
      warnings.push(args.map(String).join(' '));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger;
}

export interface RenderedChart {
  svg: string;
  width: number;
  height: number;
  /** Warnings from Vega-Lite or Vega (an encoding dropped, a scale fixed up…); the tests want none. */
  warnings: string[];
}

/** Renders `spec` to an SVG element string. */
export async function renderSvg(spec: TopLevelSpec): Promise<RenderedChart> {
  const warnings: string[] = [];
  const logger = collectingLogger(warnings);
  const compiled = compile(spec, { logger: logger as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: logger as never, logLevel: vega.Warn });
  try {
    const description = typeof spec.description === 'string' ? spec.description : typeof spec.title === 'string' ? spec.title : 'Chart';
    // The chart's accessible name; Vega labels the marks and axes inside it.
    const svg = (await view.toSVG()).replace(/^<svg /, `<svg role="graphics-document document" aria-label="${escapeHtml(description)}" `);
    if (hasActiveContent(svg)) throw new ChartError('The chart renderer produced active content (a script, an event handler or a link); refusing to inline it');
    const size = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
    return { svg, width: Number(size?.[1] ?? 0), height: Number(size?.[2] ?? 0), warnings };
  } finally {
    view.finalize();
  }
}

/**
 * True when some tag of `svg` is a script or embedding element, or has an event handler or a link
 * attribute. Only tags are looked at, with their quoted attribute values blanked out, so escaped
 * text such as a claim reading `<img onerror=…>` is not mistaken for markup.
 */
export function hasActiveContent(svg: string): boolean {
  const tags = svg.replace(/"[^"]*"|'[^']*'/g, '""').match(/<[^>]*>/g) ?? [];
  return tags.some((t) => /^<\/?\s*(script|foreignObject|iframe|object|embed|image|use|a)\b/i.test(t) || /\s(on\w+|href|xlink:href|src)\s*=/i.test(t));
}
