import { HttpError } from "./errors.js";

/** How every HTTP request of a connection is made: headers, token, credentials, time allowed. */
export interface HttpSettings {
  headers: Record<string, string>;
  /** Resolves the bearer token, or undefined for none. */
  token(): Promise<string | undefined>;
  withCredentials: boolean;
  /** How long a request may take unless it says otherwise (a long poll does); see HubConnectionOptions.requestTimeoutMs. */
  timeoutMs: number;
}

/** The official client's default for its HTTP requests' `timeout`. */
export const defaultRequestTimeoutMs = 100_000;

export interface HttpRequest {
  method: "GET" | "POST" | "DELETE";
  url: string;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** Read the answer as bytes (long polling with a binary protocol). */
  binary?: boolean;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  body: string | Uint8Array;
}

/** One request with the connection's headers; a status of 400 or more is thrown as an HttpError. */
export async function send(settings: HttpSettings, request: HttpRequest): Promise<HttpResponse> {
  const token = await settings.token();
  const headers: Record<string, string> = { "X-Requested-With": "XMLHttpRequest", ...settings.headers };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (request.body !== undefined) {
    headers["Content-Type"] = typeof request.body === "string" ? "text/plain;charset=UTF-8" : "application/octet-stream";
  }
  // fetch has no time limit of its own: a server (or proxy) that never answers would hold a
  // negotiate, and so start(), for good.
  const timeoutMs = request.timeoutMs ?? settings.timeoutMs;
  const timeout = Number.isFinite(timeoutMs) ? AbortSignal.timeout(timeoutMs) : undefined;
  const signal = request.signal && timeout ? AbortSignal.any([request.signal, timeout]) : (request.signal ?? timeout);
  const response = await fetch(request.url, {
    method: request.method,
    headers,
    ...(request.body !== undefined ? { body: request.body as BodyInit } : {}),
    ...(signal ? { signal } : {}),
    credentials: settings.withCredentials ? "include" : "same-origin",
  });
  if (response.status >= 400) {
    const text = await response.text().catch(() => "");
    throw new HttpError(text || response.statusText, response.status);
  }
  const body = request.binary ? new Uint8Array(await response.arrayBuffer()) : await response.text();
  return { status: response.status, body };
}

/** `url` with `name=value` added to its query. */
export function withQuery(url: string, name: string, value: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}${name}=${encodeURIComponent(value)}`;
}
