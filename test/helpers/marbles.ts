import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import type { ModelFailure, ModelSuccess, PanelMember } from '../../src/types.js';

export const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

export function members(n: number): PanelMember[] {
  return Array.from({ length: n }, (_, port) => ({
    port,
    model: `vendor${port}/model-${port}`,
    family: `vendor${port}`,
    baseURL: 'http://127.0.0.1:1/v1',
    apiKeyEnv: 'TEST_KEY',
    timeoutMs: 1000,
  }));
}

export function ok(member: PanelMember, text = `claim from ${member.port}`, latencyMs = 0): ModelSuccess {
  return { ok: true, port: member.port, model: member.model, family: member.family, text, usage: {}, latencyMs, attempts: 1 };
}

export function failed(member: PanelMember, kind: ModelFailure['kind'], latencyMs = 0): ModelFailure {
  return { ok: false, port: member.port, model: member.model, family: member.family, kind, message: kind, latencyMs, attempts: 1 };
}
