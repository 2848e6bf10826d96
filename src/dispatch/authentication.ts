import { ErrorCodes, HubwireError } from "../errors.js";
import type { HubRequest } from "../hubs/hub-context-types.js";
import type { LogWriter } from "../logger.js";
import type { Admission } from "../transports/connection-endpoint.js";
import { textOf } from "../protocol/thrown-value.js";
import { dispatchLog } from "./dispatch-log.js";
import type { Authenticate, UserIdProvider } from "./hub-options.js";

const authenticatedBrand = Symbol("hubwire:authenticated");

/** What `authenticate` returns for a user whose authentication ends at a known time; see {@link authenticated}. */
export interface AuthenticatedUser {
  readonly [authenticatedBrand]: true;
  readonly user: unknown;
  /** When the authentication ends (ms since the epoch). */
  readonly expiresAt: number;
}

/**
 * Wraps what `authenticate` returns with the time its authentication ends (a token's expiry).
 * After it the user no longer passes `@Authorize`, and, with `closeOnAuthenticationExpiration`
 * (the default), the connection is closed. A user with a numeric JWT `exp` claim (seconds since
 * the epoch) needs no wrapper: its `exp` is read the same way. Throws ERR_INVALID_OPTION for an
 * `expiresAt` that is no time (an Invalid Date, NaN): `authenticate` then refuses the request, as
 * when it throws, rather than let the user in with an end that never comes or comes at once.
 *
 * @example
 * authenticate: async (request, token) => {
 *   const session = token ? await sessions.find(token) : undefined;
 *   return session ? authenticated(session.user, { expiresAt: session.expiresAt }) : null;
 * }
 */
export function authenticated(user: unknown, options: { expiresAt: Date | number }): AuthenticatedUser {
  const expiresAt: unknown = options.expiresAt instanceof Date ? options.expiresAt.getTime() : options.expiresAt;
  if (typeof expiresAt !== "number" || Number.isNaN(expiresAt)) {
    // A token without an expiry read as one (new Date(undefined * 1000)) is the usual cause.
    throw new HubwireError(
      ErrorCodes.ERR_INVALID_OPTION,
      `authenticated(): expiresAt must be a valid Date or a number of ms since the epoch; got ${options.expiresAt instanceof Date ? "an Invalid Date" : textOf(expiresAt)}.`,
    );
  }
  return { [authenticatedBrand]: true, user, expiresAt };
}

/** The user and expiry in what `authenticate` returned (`undefined` and `null` are anonymous). */
export function readAuthentication(result: unknown): { user: unknown; expiresAt: number | undefined } {
  if (result === undefined || result === null) return { user: null, expiresAt: undefined };
  if (typeof result === "object" && authenticatedBrand in result) {
    const { user, expiresAt } = result as AuthenticatedUser;
    return { user: user ?? null, expiresAt };
  }
  const exp = typeof result === "object" ? (result as { exp?: unknown }).exp : undefined;
  return { user: result, expiresAt: typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined };
}

export interface AdmissionContext {
  authenticate: Authenticate | undefined;
  userIdProvider: UserIdProvider;
  log: LogWriter;
  /** For log lines: the hub's name or the endpoint's path. */
  endpoint: string;
  /** See HubOptions.maximumAuthenticationExpiration (ms); null for none. */
  maximumAuthenticationExpiration: number | null;
}

/**
 * Authenticates one request, and derives the user id and the identity follow-up requests must
 * match. Fails closed: a throwing `authenticate` refuses the request with 401 and a throwing
 * `userIdProvider` with 500, both logged without the token.
 */
export async function authenticateRequest(
  context: AdmissionContext,
  request: HubRequest,
  token: string | undefined,
): Promise<Admission> {
  let user: unknown = null;
  let expiresAt: number | undefined;
  if (context.authenticate) {
    try {
      ({ user, expiresAt } = readAuthentication(await context.authenticate(request, token)));
    } catch (error) {
      context.log.write(dispatchLog.authenticateThrew, {
        endpoint: context.endpoint,
        code: ErrorCodes.ERR_AUTHENTICATION_FAILED,
        error: withoutSecrets(error, secretsOf(request, token)),
      });
      return { status: 401, reason: "Authentication failed." };
    }
    // An expired authentication is none (a well-behaved authenticate returns null for it anyway).
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      user = null;
      expiresAt = undefined;
    }
    const longest = context.maximumAuthenticationExpiration;
    if (user !== null && longest !== null) expiresAt = Math.min(expiresAt ?? Infinity, Date.now() + longest);
  }
  let userId: string | undefined;
  try {
    userId = context.userIdProvider(user, request);
  } catch (error) {
    context.log.write(dispatchLog.userIdProviderThrew, {
      endpoint: context.endpoint,
      code: ErrorCodes.ERR_USER_ID_PROVIDER_FAILED,
      error: withoutSecrets(error, secretsOf(request, token)),
    });
    return { status: 500, reason: "The server could not identify the user." };
  }
  return { user, userId, identity: identityOf(user, userId), expiresAt };
}

/**
 * What makes two requests the same user: the user id when there is one; else the user itself,
 * compared as JSON without the claims that change with every token (times and token ids).
 */
export function identityOf(user: unknown, userId: string | undefined): string {
  if (user === null || user === undefined) return "anonymous";
  if (userId !== undefined) return `id:${userId}`;
  try {
    return `user:${JSON.stringify(user, (key, value: unknown) => (tokenClaims.has(key) ? undefined : value))}`;
  } catch {
    return `unidentifiable:${unidentifiable++}`; // never equal to another request's: fail closed
  }
}

const tokenClaims = new Set(["exp", "iat", "nbf", "jti", "auth_time"]);
let unidentifiable = 0;

/** What must not reach a log from a request: its bearer token and its connection token (every value, whatever the key's case). */
function secretsOf(request: HubRequest, token: string | undefined): Array<string | null | undefined> {
  return [token, ...[...request.query].filter(([key]) => /^(access_token|id)$/i.test(key)).map(([, value]) => value)];
}

/** An error as a log field, with any of `secrets` in its text replaced. */
export function withoutSecrets(error: unknown, secrets: ReadonlyArray<string | null | undefined>): unknown {
  const scrub = (text: string | undefined) => {
    if (text === undefined) return undefined;
    for (const secret of secrets) {
      // As given, and as it appears in a URL.
      if (secret) for (const form of [secret, encodeURIComponent(secret)]) text = text.split(form).join("[redacted]");
    }
    return text;
  };
  if (error instanceof Error) return { name: error.name, message: scrub(error.message), stack: scrub(error.stack) };
  return scrub(String(error));
}
