/**
 * JavaScript can throw anything: `undefined`, a string, a BigInt, an object with a cycle, a Proxy
 * whose every property access throws. These read a thrown value without ever throwing themselves.
 */

/** The value's text: `String(value)`, or a placeholder when even that throws. */
export function textOf(value: unknown): string {
  try {
    return String(value);
  } catch {
    return "(a thrown value that cannot be shown)";
  }
}

/** `[name, message]` of an Error, or undefined for anything else (or an Error that cannot be read). */
export function errorParts(value: unknown): [name: string, message: string] | undefined {
  try {
    if (!(value instanceof Error)) return undefined;
    return [textOf(value.name), textOf(value.message)];
  } catch {
    return undefined;
  }
}

/** The value as an Error: itself if it is one, else an Error carrying its text. */
export function asError(value: unknown): Error {
  try {
    if (value instanceof Error) return value;
  } catch {
    // a Proxy whose prototype cannot be read: treated as any other value
  }
  return new Error(textOf(value));
}

/**
 * What user code returned, when it may be a promise (an async logger or listener): its rejection
 * goes to `handle`, as a throw would, instead of becoming an unhandled rejection.
 */
export function onRejection(result: unknown, handle: (error: unknown) => void): void {
  try {
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") (result as PromiseLike<unknown>).then(undefined, handle);
  } catch (error) {
    handle(error); // a `then` that throws
  }
}
