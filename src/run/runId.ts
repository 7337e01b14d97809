import { randomBytes } from 'node:crypto';

/** Sortable by time, unique enough across concurrent processes: `20261126T041409Z-3f9a1c`. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
