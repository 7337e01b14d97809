/**
 * Waits until `check` holds (it reads something observable: a line of output, a file, a stream's
 * state) and returns what it returned; fails naming `what` after `ms`. The polling only decides
 * when to look again, never the outcome.
 */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
