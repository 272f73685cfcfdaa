/**
 * Ending what a command started, every part of it: each step runs whatever the ones before it did,
 * so a part that fails to stop (a load worker that does not answer, a router already gone) cannot
 * leave the database servers after it running. The first failure is thrown once every step ran.
 */
export async function endAll(steps: ReadonlyArray<() => unknown>): Promise<void> {
  let first: { error: unknown } | null = null;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      first ??= { error };
    }
  }
  if (first) throw first.error;
}
