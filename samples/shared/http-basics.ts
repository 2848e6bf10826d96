import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize } from "node:path";

// The plain HTTP side the samples share: a page's static files, JSON answers and small JSON bodies.

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Where a page's files come from: URL prefix → directory. */
export type StaticRoots = Record<string, string>;

/** Serves `pathname` from the first root that has it; false when none does. */
export async function serveStatic(pathname: string, res: ServerResponse, roots: StaticRoots): Promise<boolean> {
  const path = pathname === "/" ? "/index.html" : pathname;
  for (const [prefix, dir] of Object.entries(roots)) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    if (!file.startsWith(normalize(dir))) continue; // no escaping the root with ../
    try {
      const content = await readFile(file);
      res.writeHead(200, { "Content-Type": contentTypes[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-cache" });
      res.end(content);
      return true;
    } catch {
      // not in this root; try the next
    }
  }
  return false;
}

export function reply(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  return true;
}

/** Reads a small JSON body (at most `maxChars`); undefined when it is missing, too large or malformed. */
export async function readJson(req: IncomingMessage, maxChars: number): Promise<unknown> {
  let text = "";
  for await (const chunk of req) {
    text += chunk;
    if (text.length > maxChars) return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
