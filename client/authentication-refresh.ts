import type { ConnectionEvents } from "./connection-events.js";
import { HubClientError, isRefusal } from "./errors.js";
import { send, type HttpSettings } from "./http.js";
import type { Logger } from "./logger.js";

/** How a connection refreshes its authentication; see HubConnectionOptions.authenticationRefresh. */
export interface AuthenticationRefreshOptions {
  /** Refresh by itself before the token ends, as negotiate and each refresh tell. Default true. */
  auto?: boolean;
  /**
   * How long before the token ends an automatic refresh goes. A token that lasts less than twice
   * this is refreshed halfway through its life. Default 300 000 ms, the official client's.
   */
  refreshBeforeExpiryMs?: number;
}

/** Where a negotiated connection's refreshes go, and how long its first token lasts. */
export interface RefreshTarget {
  /** The hub's URL as given to the connection (the refresh is `<url>/refresh`). */
  url: string;
  connectionToken: string;
  http: HttpSettings;
  /** Whole seconds, as negotiate said; undefined where the server named none. */
  tokenLifetimeSeconds: number | undefined;
}

/** What the refresher needs of its connection. */
export interface RefreshHost {
  readonly log: Logger;
  /** Where each refresh is reported (`authenticationRefreshed`, `authenticationRefreshFailed`). */
  readonly events: ConnectionEvents;
  connected(): boolean;
}

/** The header SignalR 11 names the connection with in a refresh. */
const connectionTokenHeader = "X-SignalR-Connection-Token";
/** A token said to last longer is refreshed as if it lasted this long (the official client's cap). */
const longestLifetimeSeconds = 2_147_483;
/** The longest wait a timer takes (about 24.8 days). */
const longestTimerMs = 2_147_483_647;
/** An automatic refresh that failed is tried again, at half the time left, while at least this much is left. */
const retryWhileLeftMs = 1_000;

/**
 * Keeps a connection's authentication fresh (SignalR 11's authentication refresh): it POSTs
 * `<url>/refresh` with the connection token and a fresh token from `accessTokenFactory`, and the
 * server makes that token's user and expiry the connection's, so a server that closes connections
 * whose authentication ended keeps this one. It refreshes when asked and, by default, by itself
 * before the token ends; an automatic refresh that fails (not a refusal) is tried again at half
 * the time left.
 */
export class AuthenticationRefresher {
  private target: RefreshTarget | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer's refresh is due (ms since the epoch). */
  private dueAt: number | undefined;
  private readonly auto: boolean;
  private readonly beforeExpiryMs: number;

  constructor(
    options: boolean | AuthenticationRefreshOptions | undefined,
    private readonly host: RefreshHost,
  ) {
    const settings = typeof options === "object" ? options : {};
    this.auto = options !== undefined && options !== false && settings.auto !== false;
    this.beforeExpiryMs = settings.refreshBeforeExpiryMs ?? 300_000;
  }

  /** The connection is up; `target` is where its refreshes go (none without negotiate). */
  connected(target: RefreshTarget | undefined): void {
    this.stopped();
    this.target = target;
    if (target?.tokenLifetimeSeconds !== undefined) this.schedule(target.tokenLifetimeSeconds);
  }

  /**
   * A multiplexed connection's hub opened with a token that lasts `lifetimeSeconds`: an
   * automatic refresh is due before it ends, unless one is due sooner already.
   */
  lifetimeKnown(lifetimeSeconds: number): void {
    if (this.target) this.schedule(lifetimeSeconds, true);
  }

  /** The connection is down: no refresh until the next one is up. */
  stopped(): void {
    clearTimeout(this.timer);
    this.timer = this.dueAt = undefined;
    this.target = undefined;
  }

  /** Refreshes now; resolves with the new token's lifetime in whole seconds, if the server named one. */
  async refresh(): Promise<number | undefined> {
    const target = this.target;
    if (!this.host.connected()) throw new HubClientError("ERR_NOT_CONNECTED", "Cannot refresh authentication when the connection is not active.");
    if (!target) throw new HubClientError("ERR_REFRESH", "Authentication refresh needs a negotiated connection (not skipNegotiation or a supplied transport; a multiplexed hub's is its multiplexer's).");
    let lifetime: number | undefined;
    try {
      lifetime = await postRefresh(target);
    } catch (error) {
      this.host.events.emit("authenticationRefreshFailed", error as Error);
      throw error;
    }
    if (this.target !== target) return lifetime; // the connection changed meanwhile: its own negotiate told it
    if (lifetime !== undefined) this.schedule(lifetime);
    this.host.events.emit("authenticationRefreshed", lifetime);
    return lifetime;
  }

  private schedule(lifetimeSeconds: number, unlessSooner = false): void {
    if (!this.auto) return;
    const lifetimeMs = Math.min(lifetimeSeconds, longestLifetimeSeconds) * 1000;
    const now = Date.now();
    const delayMs = lifetimeMs <= this.beforeExpiryMs * 2 ? lifetimeMs / 2 : lifetimeMs - this.beforeExpiryMs;
    if (unlessSooner && this.dueAt !== undefined && this.dueAt <= now + delayMs) return;
    this.after(delayMs, now + lifetimeMs);
  }

  private after(delayMs: number, endsAt: number): void {
    clearTimeout(this.timer);
    const wait = Math.min(delayMs, longestTimerMs);
    this.dueAt = Date.now() + wait;
    this.timer = setTimeout(() => void this.refreshBy(endsAt), wait);
  }

  /** The timer's refresh: failures are reported (by refresh) and retried while time is left; a refusal is not. */
  private async refreshBy(endsAt: number): Promise<void> {
    this.timer = this.dueAt = undefined;
    const target = this.target;
    if (!target || !this.host.connected()) return;
    try {
      await this.refresh();
    } catch (error) {
      const left = endsAt - Date.now();
      const refused = error instanceof HubClientError && error.code === "ERR_UNAUTHORIZED";
      const again = !refused && left >= retryWhileLeftMs && this.target === target;
      this.host.log.warn(again ? "Authentication refresh failed; trying again." : "Authentication refresh failed.", { error });
      if (again) this.after(left / 2, endsAt);
    }
  }
}

/** The refresh request; a refusal of the credentials is `ERR_UNAUTHORIZED`, any other failure `ERR_REFRESH`. */
async function postRefresh(target: RefreshTarget): Promise<number | undefined> {
  const [path, query] = target.url.split("?", 2) as [string, string | undefined];
  const url = `${path}${path.endsWith("/") ? "" : "/"}refresh${query === undefined ? "" : `?${query}`}`;
  const http: HttpSettings = { ...target.http, headers: { ...target.http.headers, [connectionTokenHeader]: target.connectionToken } };
  let body: { tokenLifetimeSeconds?: unknown };
  try {
    const response = await send(http, { method: "POST", url });
    body = JSON.parse(response.body as string) as typeof body;
  } catch (error) {
    const statusCode = (error as { statusCode?: number }).statusCode;
    const text = `Authentication refresh failed: ${reasonOf(error)}`;
    throw new HubClientError(isRefusal(statusCode) ? "ERR_UNAUTHORIZED" : "ERR_REFRESH", text, statusCode);
  }
  return tokenLifetime(body?.tokenLifetimeSeconds);
}

/** A token's lifetime as the server named it: a positive number of seconds, or undefined. */
export function tokenLifetime(seconds: unknown): number | undefined {
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/** The server's `error_description` when its answer has one, else the error's own text. */
function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const json = /^(\{.*\}): Status code/s.exec(text)?.[1];
  if (!json) return text;
  try {
    const { error_description: description } = JSON.parse(json) as { error_description?: unknown };
    return typeof description === "string" ? `${description} (${text.slice(json.length + 2)})` : text;
  } catch {
    return text;
  }
}
