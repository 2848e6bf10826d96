import { request } from "node:http";

// Plain HTTP requests, one connection each (no agent: no reuse between steps), and the part of a
// response a transcript keeps.

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RawRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** Sends one request on a connection of its own and resolves with the whole response. */
export function send(base: string, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.path, base);
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers["Content-Length"] = Buffer.byteLength(req.body);
    const r = request(url, { method: req.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    r.on("error", reject);
    r.end(req.body);
  });
}

/** The response headers a client acts on; the rest (Date, Server, framing) is each server's own. */
export const recordedHeaders = [
  "content-type",
  "cache-control",
  "pragma",
  "expires",
  "x-content-type-options",
  "www-authenticate",
  "allow",
  "location",
  "set-cookie",
  "access-control-allow-origin",
  "access-control-allow-credentials",
  "sec-websocket-protocol",
];

/** The recorded headers of a response, one `name: value` line each, in a fixed order. */
export function headerLines(headers: RawResponse["headers"]): string[] {
  const lines: string[] = [];
  for (const name of recordedHeaders) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`  ${name}: ${name === "set-cookie" ? cookie(v) : v}`);
  }
  return lines;
}

/** A cookie with its attributes in one spelling and order: their names ignore case (RFC 6265). */
function cookie(value: string): string {
  const [pair, ...attributes] = value.split(/;\s*/);
  const named = attributes.map((a) => a.replace(/^[^=]+/, (n) => n.toLowerCase())).sort();
  return [pair, ...named].join("; ");
}

/** A body as one line: text when it is printable UTF-8, hex otherwise. */
export function bodyLine(body: Buffer): string {
  if (body.length === 0) return "  (empty body)";
  const text = body.toString("utf8");
  if (/^[[{]/.test(text)) {
    try {
      JSON.parse(text);
      return `  body json ${text}`;
    } catch {
      // Not JSON after all: written as a string below.
    }
  }
  // eslint-disable-next-line no-control-regex
  if (!/[\x00-\x08\x0e-\x1f\x7f\ufffd]/.test(text.replace(/\x1e/g, ""))) return `  body ${JSON.stringify(text)}`;
  return `  body hex ${body.toString("hex")}`;
}
