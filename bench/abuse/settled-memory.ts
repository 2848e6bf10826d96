/**
 * The heap and array buffers after a full collection, taken twice with a turn of the event loop
 * between: the backing stores of array buffers a collection finds dead are freed by a sweep that
 * may still be running when it returns, so one collection alone sometimes still counts
 * megabytes of buffers already let go (the upload attack read 18 MB once instead of 3).
 */
export async function settledMemory(gc: () => void): Promise<{ bytes: number; rss: number }> {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const { heapUsed, arrayBuffers, rss } = process.memoryUsage();
  return { bytes: heapUsed + arrayBuffers, rss };
}
