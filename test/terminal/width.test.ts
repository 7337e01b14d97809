import fc from 'fast-check';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { cutToWidth, elideMiddle, oneLine, padToWidth } from '../../src/terminal/width.js';

describe('terminal widths', () => {
  it('cuts by display width, never inside a wide character or an emoji', () => {
    expect(cutToWidth('通义千问模型', 7)).toBe('通义千…');
    expect(cutToWidth('ab👩‍👩‍👧cd', 4)).toBe('ab…');
    expect(cutToWidth('ab👩‍👩‍👧cd', 5)).toBe('ab👩‍👩‍👧…');
    expect(cutToWidth('short', 5)).toBe('short');
  });

  it('elides model ids in the middle, keeping the provider and the variant', () => {
    expect(elideMiddle('meta-llama/llama-3.3-70b-instruct:free', 20)).toBe('meta-llama…ruct:free');
    expect(stringWidth(elideMiddle('通义千问/qwen-长模型名称:free', 15))).toBeLessThanOrEqual(15);
  });

  it('pads to a display width', () => {
    expect(padToWidth('古a', 5)).toBe('古a  ');
  });

  it('makes model and provider text one safe line', () => {
    expect(oneLine('429 Too\nMany\x1b[2J\x1b[31mRequests\u2028now ')).toBe('429 Too Many [2J [31mRequests now');
  });

  it('never returns more columns than asked, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.integer({ min: 0, max: 40 }), (text, max) => {
        const line = oneLine(text);
        expect(stringWidth(cutToWidth(line, max))).toBeLessThanOrEqual(max);
        expect(stringWidth(elideMiddle(line, max))).toBeLessThanOrEqual(max);
      }),
    );
  });
});
