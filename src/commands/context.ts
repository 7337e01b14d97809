/** What a command needs from the process, injectable so the CLI runs in-process in tests. */
export interface CliContext {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Where `quorum ask -` reads the question; the process's stdin unless a test gives one. */
  stdin?: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT, SIGTERM and SIGHUP. */
  signal: AbortSignal;
  /** Set by the command that ran. */
  exitCode: number;
  /** The arguments the CLI was run with, for messages like "resume with: …". */
  argv?: readonly string[];
}
