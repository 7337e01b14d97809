/**
 * Writing a command's result to stdout when stdout may be a pipe that closes early
 * (`quorum report --to - | head`, `quorum sql … | head`): the reader going away is not an error
 * of quorum's, so a closed pipe (EPIPE) ends the output quietly instead of crashing the process
 * with an unhandled 'error' event. Light on purpose: src/commands/* import it at start-up.
 */

/** Streams already given a quiet EPIPE handler. */
const guarded = new WeakSet<NodeJS.WritableStream>();

function isClosedPipe(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

/**
 * Writes `text` to `stream` and resolves once it has been handed to the OS; resolves to `false`
 * (writing nothing more) when the reader has closed the pipe. Any other write error rejects.
 */
export function writeOutput(stream: NodeJS.WritableStream, text: string): Promise<boolean> {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    // Stays for the process's life: the 'error' event may come after the write's callback.
    stream.on('error', (error: unknown) => {
      if (!isClosedPipe(error)) throw error;
    });
  }
  return new Promise((resolve, reject) => {
    stream.write(text, (error?: Error | null) => {
      if (!error) resolve(true);
      else if (isClosedPipe(error)) resolve(false);
      else reject(error);
    });
  });
}
