/** Reading Temporal failures inside the workflow: the innermost message and failure type. */

/** The `type` of the innermost ApplicationFailure behind an error, if any. */
export function failureTypeOf(err: unknown): string | null {
  let type: string | null = null;
  for (let current = err as { type?: string; cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    if (typeof current.type === 'string') type = current.type;
    if (!current.cause || typeof current.cause !== 'object') break;
  }
  return type;
}

/** The innermost message: an ActivityFailure wraps the activity's ApplicationFailure. */
export function messageOf(err: unknown): string {
  let current = err as { message?: string; cause?: unknown } | undefined;
  while (current?.cause && typeof current.cause === 'object') current = current.cause as typeof current;
  return current?.message ?? String(err);
}
