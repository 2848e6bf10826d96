import { Buffer } from "node:buffer";
import type { IncomingHttpHeaders } from "node:http";

export type BodyResult = { body: Buffer } | { tooLarge: true } | { aborted: true };

/**
 * What reading a body needs of its request: an IncomingMessage, or the body of a POST another
 * server forwards in parts (ForwardedBody), which has no headers.
 */
export interface BodySource {
  readonly destroyed: boolean;
  readonly headers?: IncomingHttpHeaders;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "end" | "aborted" | "close" | "error", listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/**
 * Reads a request body, up to `limit` bytes. Past the limit reading stops and the rest is not
 * buffered, so a huge POST costs nothing but the refusal.
 */
export function readBody(req: BodySource, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers?.["content-length"]);
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
