import { context, propagation } from "@opentelemetry/api";

/**
 * Invocation headers that carry the caller's active OpenTelemetry context (W3C `traceparent` and
 * `tracestate` with the SDK's default propagator), for `invocationHeaders`: a hubwire server (or
 * ASP.NET Core SignalR) makes its span of the call a child of the caller's. Needs
 * `@opentelemetry/api` and a registered SDK; without an active span it adds nothing.
 *
 * @example
 * import { HubConnection } from "hubwire/client";
 * import { traceContext } from "hubwire/client/opentelemetry";
 *
 * const connection = new HubConnection("/chat", { invocationHeaders: traceContext });
 */
export function traceContext(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}
