/**
 * Makes a fault's clear idempotent: `action` runs until it succeeds once; later (or concurrent)
 * calls share that success, and after a failure the next call tries again.
 */
export function once(action: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => {
    done ??= action().catch((error: unknown) => {
      done = null;
      throw error;
    });
    return done;
  };
}
