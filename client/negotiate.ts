import { HubClientError, isRefusal, messages } from "./errors.js";
import { tokenLifetime } from "./authentication-refresh.js";
import { send, withQuery, type HttpSettings } from "./http.js";
import type { TransferFormat, TransportKind } from "./transports/transport.js";

export interface NegotiateResult {
  /** The hub URL transports use, `id=` included. */
  url: string;
  /** The hub URL it was negotiated at (a redirect's), without `id=`: an authentication refresh's. */
  baseUrl: string;
  connectionId: string;
  connectionToken: string;
  transports: Array<{ transport: TransportKind; transferFormats: TransferFormat[] }>;
  /** The HTTP settings for this connection: a redirect may have given it its own token. */
  http: HttpSettings;
  /** The server agreed to stateful reconnect (only when the client asked). */
  statefulReconnect: boolean;
  /** How long the token lasts, in whole seconds, where the server serves authentication refresh. */
  tokenLifetimeSeconds: number | undefined;
}

interface NegotiateBody {
  url?: string;
  accessToken?: string;
  error?: string;
  connectionId?: string;
  connectionToken?: string;
  negotiateVersion?: number;
  useStatefulReconnect?: boolean;
  tokenLifetimeSeconds?: unknown;
  availableTransports?: Array<{ transport: TransportKind; transferFormats: TransferFormat[] }>;
}

const maxRedirects = 100;

/**
 * POSTs `{url}/negotiate?negotiateVersion=1` (and `useStatefulReconnect=true` when asked),
 * following redirects (whose access token then replaces the configured one) and turning failures
 * into the official client's texts.
 */
export async function negotiate(baseUrl: string, http: HttpSettings, statefulReconnect = false, signal?: AbortSignal): Promise<NegotiateResult> {
  let url = baseUrl;
  let settings = http;
  for (let hop = 0; hop <= maxRedirects; hop++) {
    let body: NegotiateBody;
    try {
      const response = await send(settings, { method: "POST", url: negotiateUrl(url, statefulReconnect), ...(signal ? { signal } : {}) });
      body = JSON.parse(response.body as string) as NegotiateBody;
    } catch (error) {
      let text = messages.negotiateFailed(error);
      const statusCode = (error as { statusCode?: number }).statusCode;
      if (statusCode === 404) {
        text += " Either this is not a SignalR endpoint or there is a proxy blocking the connection.";
      }
      throw new HubClientError(isRefusal(statusCode) ? "ERR_UNAUTHORIZED" : "ERR_NEGOTIATE", text, statusCode);
    }
    if (body.error) throw new HubClientError("ERR_NEGOTIATE", body.error);
    if (body.url) {
      url = body.url;
      if (body.accessToken) {
        const token = body.accessToken;
        settings = { ...settings, token: async () => token };
      }
      continue;
    }
    const token = body.negotiateVersion && body.negotiateVersion >= 1 ? body.connectionToken : body.connectionId;
    if (!token || !body.connectionId) throw new HubClientError("ERR_NEGOTIATE", "Invalid negotiation response received.");
    return {
      url: withQuery(url, "id", token),
      baseUrl: url,
      connectionId: body.connectionId,
      connectionToken: token,
      transports: body.availableTransports ?? [],
      http: settings,
      statefulReconnect: statefulReconnect && body.useStatefulReconnect === true,
      tokenLifetimeSeconds: tokenLifetime(body.tokenLifetimeSeconds),
    };
  }
  throw new HubClientError("ERR_NEGOTIATE", "Negotiate redirection limit exceeded.");
}

function negotiateUrl(url: string, statefulReconnect: boolean): string {
  const [path, query] = url.split("?", 2) as [string, string | undefined];
  const base = `${path}${path.endsWith("/") ? "" : "/"}negotiate`;
  const params = new URLSearchParams(query ?? "");
  if (!params.has("negotiateVersion")) params.set("negotiateVersion", "1");
  if (statefulReconnect) params.set("useStatefulReconnect", "true");
  return `${base}?${params.toString()}`;
}
