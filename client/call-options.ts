/** Options for one call, passed as its last argument: `invoke("work", 42, withSignal(signal))`. */
export class CallOptions {
  constructor(readonly signal?: AbortSignal) {}
}

/** Cancels the call when `signal` aborts: the server is sent a CancelInvocation. */
export function withSignal(signal: AbortSignal): CallOptions {
  return new CallOptions(signal);
}

/** Splits a call's arguments from its trailing options. */
export function splitOptions(args: unknown[]): { args: unknown[]; options: CallOptions | undefined } {
  const last = args[args.length - 1];
  return last instanceof CallOptions ? { args: args.slice(0, -1), options: last } : { args, options: undefined };
}

/** An argument sent as an upload stream: any async iterable that is not a string. */
export function isUpload(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}
