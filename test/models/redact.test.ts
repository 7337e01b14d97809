import { describe, expect, it } from 'vitest';
import { redact } from '../../src/errors.js';

describe('redact', () => {
  it('removes key-shaped tokens and the given secrets', () => {
    // Built at run time: a key-shaped literal in the source would look like a leaked key.
    const keyShaped = ['sk', 'or', 'v1', 'x'.repeat(16)].join('-');
    expect(redact(`401 for key ${keyShaped}`)).toBe('401 for key sk-[redacted]');
    expect(redact('Authorization: Bearer abc.def-ghi_12345')).toBe('Authorization: Bearer [redacted]');
    expect(redact(`"sk-${'a'.repeat(10)}"`)).toBe('"sk-[redacted]"');
    expect(redact('token my-secret-value here', ['my-secret-value'])).toBe('token [redacted] here');
  });

  it('leaves words that merely end in "sk-" alone (file names, ids)', () => {
    const path = "ENOENT: no such file or directory, open '/work/dist/bin/ask-RCWDGHQM.js'";
    expect(redact(path)).toBe(path);
    expect(redact('task-abcdefgh1 and disk-12345678ab')).toBe('task-abcdefgh1 and disk-12345678ab');
  });
});
