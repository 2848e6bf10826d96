/**
 * `stream` as is to its reader, calling `ended` once: when it ends, fails, or its reader stops it
 * (even before it started, or while the producer is parked on an await).
 */
export function measuredStream<T>(stream: AsyncIterable<T>, ended: (fault?: { error: unknown }) => void): AsyncIterable<T> {
  let over = false;
  const finish = (fault?: { error: unknown }) => {
    if (over) return;
    over = true;
    ended(fault);
  };
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const inner = stream[Symbol.asyncIterator]();
      return {
        async next() {
          try {
            const step = await inner.next();
            if (step.done) finish();
            return step;
          } catch (error) {
            finish({ error });
            throw error;
          }
        },
        async return(value?: unknown) {
          finish();
          return (await inner.return?.(value)) ?? { done: true, value: undefined };
        },
      };
    },
  };
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === "object" && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}
