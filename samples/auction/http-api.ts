import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize } from "node:path";
import { issueToken, isValidName } from "./sample-auth.js";

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** Where the page's files come from: URL prefix → directory. */
export type StaticRoots = Record<string, string>;

/** The sample's plain HTTP side: sign-in and the page's static files. Returns false for requests it does not serve. */
export async function handleApi(req: IncomingMessage, res: ServerResponse, roots: StaticRoots): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/api/login" && req.method === "POST") {
    const name = ((await readJson(req)) as { name?: unknown } | undefined)?.name;
    if (!isValidName(name)) return reply(res, 400, { error: "A name of 1-32 letters, digits, spaces, dots, dashes or underscores is required." });
    const user = { name: name.trim() };
    return reply(res, 200, { token: issueToken(user), user });
  }
  if (req.method === "GET") return serveStatic(url.pathname, res, roots);
  return false;
}

async function serveStatic(pathname: string, res: ServerResponse, roots: StaticRoots): Promise<boolean> {
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

function reply(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  return true;
}

/** Reads a small JSON body (at most 4 KiB); undefined when it is missing or malformed. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = "";
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 4 * 1024) return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
