/**
 * `quorum/sandbox`: the offline provider `quorum sandbox` serves, an OpenAI-compatible HTTP
 * server on 127.0.0.1 whose simulated models answer from a scenario: for testing code built on
 * `quorum` without a network or a key. An entry point of its own because it is a test aid, not
 * part of what `quorum` itself promises.
 */
/** Starts the sandbox with a panel pointing at it: `{ panel, env }` go to `askPipeline` and `createOpenAICall`. */
export { startSandboxPanel } from './run/sandboxPanel.js';
/** Starts the sandbox server alone; `baseURL` goes into a panel, `close()` stops it. */
export { startSandboxServer, type SandboxServer, type SandboxServerOptions } from './sandbox/server.js';
/** The scenario `quorum sandbox` serves when given none: eight simulated models. */
export { defaultScenario } from './sandbox/defaultScenario.js';
/** A scenario from a parsed object or a JSON/YAML file; errors name the file, path and expectation. */
export { parseScenario, loadScenario, type Scenario } from './sandbox/scenario.js';
