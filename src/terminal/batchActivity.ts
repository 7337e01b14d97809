import type { ModelCall } from '../models/call.js';
import type { Round } from '../pipelines/ask.js';
import type { ModelOutcome } from '../types.js';
import type { LiveHooks } from './liveView.js';

/**
 * What a batch tells its progress line while chunks are in flight, so the line moves before
 * the first chunk is decided: every model call as it starts and ends, every port's outcome.
 */
export interface BatchActivity extends LiveHooks {
  callStarted(): void;
  callEnded(): void;
}

/**
 * `call`, telling `activity` when each request starts and ends. Wrapped around the model call
 * itself (inside the rate limiter and the retries), so "in flight" counts HTTP requests, not
 * calls waiting for a slot. A call ends once, when it settles or is aborted, whichever is first.
 */
export function countingCall(call: ModelCall, activity: BatchActivity | undefined): ModelCall {
  if (!activity) return call;
  return (member, request, hooks) => {
    activity.callStarted();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      hooks.signal.removeEventListener('abort', end);
      activity.callEnded();
    };
    hooks.signal.addEventListener('abort', end, { once: true });
    let pending: Promise<Awaited<ReturnType<ModelCall>>>;
    try {
      pending = call(member, request, hooks);
    } catch (error) {
      end();
      throw error;
    }
    return pending.finally(end);
  };
}

/**
 * Hooks that reach a progress line made later (it needs the chunk count, known only once the
 * batch has started): calls before it exists are not shown.
 */
export function forwardActivity(target: () => BatchActivity | undefined): BatchActivity {
  return {
    callStarted: () => target()?.callStarted(),
    callEnded: () => target()?.callEnded(),
    streaming: (port: number, round: Round) => target()?.streaming(port, round),
    finished: (outcome: ModelOutcome, round: Round) => target()?.finished(outcome, round),
  };
}
