import type { TransportName } from "./transport.js";

const transferFormats: Record<TransportName, readonly string[]> = {
  WebSockets: ["Text", "Binary"],
  ServerSentEvents: ["Text"],
  LongPolling: ["Text", "Binary"],
};

/** The highest negotiate version hubwire speaks. */
export const latestNegotiateVersion = 1;

export type NegotiateVersion = { version: number } | { error: string };

/**
 * Reads `negotiateVersion` (its query value, see ConnectionRequest.queryValue) as ASP.NET Core
 * does: absent means 0, a non-integer (or one beyond 32 bits, or values given twice) or a version
 * below the minimum is an error (sent with HTTP 200), above 1 is lowered.
 */
export function negotiateVersion(raw: string | null, minimumVersion: number): NegotiateVersion {
  if (raw === null) return minimumVersion > 0 ? versionTooLow(0) : { version: 0 };
  const requested = Number.parseInt(raw, 10);
  // A 32-bit integer, as .NET parses it: anything else is no integer to it.
  if (!/^[+-]?\d+$/.test(raw.trim()) || (requested | 0) !== requested) return { error: "The client requested a non-integer protocol version." };
  if (requested < minimumVersion) return versionTooLow(requested);
  return { version: Math.min(requested, latestNegotiateVersion) };
}

function versionTooLow(version: number): NegotiateVersion {
  return { error: `The client requested version '${version}', but the server does not support this version.` };
}

/** The JSON body of a successful negotiate: transports in fallback order with their formats. */
export function negotiateResponse(
  version: number,
  connectionId: string,
  connectionToken: string,
  transports: readonly TransportName[],
  useStatefulReconnect = false,
  /** How long the client's token lasts, where the endpoint serves authentication refresh (see HubOptions.authenticationRefresh). */
  tokenLifetimeSeconds?: number,
): string {
  return JSON.stringify({
    // Only when the client asked: the official client fails a connection that did not. First,
    // where ASP.NET Core writes it.
    ...(useStatefulReconnect ? { useStatefulReconnect: true } : {}),
    negotiateVersion: version,
    connectionId,
    ...(version >= 1 ? { connectionToken } : {}),
    availableTransports: transports.map((transport) => ({ transport, transferFormats: transferFormats[transport] })),
    ...(tokenLifetimeSeconds === undefined ? {} : { tokenLifetimeSeconds }),
  });
}
