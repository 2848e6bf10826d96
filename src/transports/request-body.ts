import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";

export type BodyResult = { body: Buffer } | { tooLarge: true } | { aborted: true };

/**
 * Reads a request body, up to `limit` bytes. Past the limit reading stops and the rest is not
 * buffered, so a huge POST costs nothing but the refusal.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) return Promise.resolve({ tooLarge: true });
  // A request that waited its turn may have been dropped meanwhile: its events are over.
  if (req.destroyed) return Promise.resolve({ aborted: true });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish({ tooLarge: true });
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => finish({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }));
    req.on("aborted", () => finish({ aborted: true }));
    req.on("error", () => finish({ aborted: true }));
    req.on("close", () => finish({ aborted: true }));
  });
}
