import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize } from "node:path";
import type { Publisher } from "./publisher.js";
import { issueToken, isValidName, verifyToken } from "./sample-auth.js";

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Where the page's files come from: URL prefix → directory. */
export type StaticRoots = Record<string, string>;

/**
 * The sample's plain HTTP side: sign-in, the publish endpoint, and the page's static files.
 * Returns false for requests it does not serve.
 */
export async function handleApi(req: IncomingMessage, res: ServerResponse, publisher: Publisher, roots: StaticRoots): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/api/login" && req.method === "POST") {
    const body = await readJson(req);
    const name = (body as { name?: unknown } | undefined)?.name;
    if (!isValidName(name)) return reply(res, 400, { error: "A name of 1-32 letters, digits, spaces, dots, dashes or underscores is required." });
    const user = { name: name.trim(), admin: (body as { admin?: unknown }).admin === true };
    return reply(res, 200, { token: issueToken(user), user });
  }
  if (url.pathname === "/api/notify") {
    if (req.method !== "POST") return reply(res, 405, { error: "Use POST." });
    const auth = req.headers.authorization ?? "";
    const user = verifyToken(/^Bearer /i.test(auth) ? auth.slice(7).trim() : undefined);
    if (!user) return reply(res, 401, { error: "A bearer token from /api/login is required." });
    if (!user.admin) return reply(res, 403, { error: "Only admins may publish." });
    const body = await readJson(req);
    if (!body || typeof body !== "object") return reply(res, 400, { error: "A JSON body {kind, target, title, body} is required." });
    const result = await publisher.publish(body as never, user.name);
    return result.ok ? reply(res, 200, { id: result.notification.id, recipients: result.recipients }) : reply(res, 400, { error: result.error });
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

/** Reads a small JSON body (at most 16 KiB); undefined when it is missing or malformed. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = "";
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 16 * 1024) return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
