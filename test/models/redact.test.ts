import { describe, expect, it } from 'vitest';
import { redact } from '../../src/errors.js';

describe('redact', () => {
  it('removes key-shaped tokens and the given secrets', () => {
    expect(redact('401 for key sk-or-v1-abcdef1234567890')).toBe('401 for key sk-[redacted]');
    expect(redact('Authorization: Bearer abc.def-ghi_12345')).toBe('Authorization: Bearer [redacted]');
    expect(redact('"sk-abcdefgh12"')).toBe('"sk-[redacted]"');
    expect(redact('token my-secret-value here', ['my-secret-value'])).toBe('token [redacted] here');
  });

  it('leaves words that merely end in "sk-" alone (file names, ids)', () => {
    const path = "ENOENT: no such file or directory, open '/work/dist/bin/ask-RCWDGHQM.js'";
    expect(redact(path)).toBe(path);
    expect(redact('task-abcdefgh1 and disk-12345678ab')).toBe('task-abcdefgh1 and disk-12345678ab');
  });
});
