import type { HubMethodDescriptor } from "../hubs/hub-descriptor.js";
import {
  errorCompletion,
  MessageType,
  resultCompletion,
  voidCompletion,
  type InvocationMessage,
  type StreamInvocationMessage,
} from "../protocol/messages.js";
import { isAuthorized } from "./authorization.js";
import type { ConnectionSession } from "./connection-session.js";
import { detailFor, errorTexts } from "./error-texts.js";
import type { HubRuntime } from "./hub-runtime.js";

type HubInvocation = InvocationMessage | StreamInvocationMessage;

/**
 * Runs one invocation to its Completion: lookup, checks, a fresh hub instance, the call. Never
 * throws; returns a promise only when the method is asynchronous, so a synchronous method costs
 * no promise.
 */
export function invoke(runtime: HubRuntime, session: ConnectionSession, message: HubInvocation): Promise<void> | undefined {
  const method = runtime.descriptor.methods.get(message.target.toLowerCase());
  if (!method) {
    runtime.logger.warn("Unknown hub method", { ...session.logFields, method: message.target });
    return fail(session, message, errorTexts.unknownMethod(message.target));
  }
  if (message.type === MessageType.StreamInvocation) {
    return fail(session, message, errorTexts.nonStreamingWithStream(message.target));
  }
  const streams = message.streamIds?.length ?? 0;
  if (streams > 0) {
    const detail = ` HubException: ${errorTexts.streamCountMismatch(streams, 0)}`;
    return fail(session, message, errorTexts.methodThrew(message.target, detail));
  }
  if (message.arguments.length !== method.parameterCount) {
    const reason = errorTexts.argumentCount(message.arguments.length, method.parameterCount);
    runtime.logger.warn("Hub method called with the wrong argument count", { ...session.logFields, method: message.target, reason });
    const detail = runtime.options.enableDetailedErrors ? ` InvalidDataException: ${reason}` : "";
    return fail(session, message, errorTexts.bindingFailed(message.target, detail));
  }
  if (method.authorize.length > 0) return authorizeThenRun(runtime, session, method, message);
  return run(runtime, session, method, message);
}

async function authorizeThenRun(
  runtime: HubRuntime,
  session: ConnectionSession,
  method: HubMethodDescriptor,
  message: HubInvocation,
): Promise<void> {
  const { connection } = session;
  let allowed = false;
  try {
    allowed = await isAuthorized(method.authorize, connection.user, runtime.policies, {
      hub: runtime.descriptor.name,
      method: method.wireName,
      request: connection.request!,
    });
  } catch (error) {
    runtime.logger.error("Authorization policy threw", { ...session.logFields, method: message.target, error });
  }
  if (!allowed) {
    runtime.logger.warn("Hub method call denied", { ...session.logFields, method: message.target });
    return fail(session, message, errorTexts.unauthorized(message.target));
  }
  return run(runtime, session, method, message);
}

function run(
  runtime: HubRuntime,
  session: ConnectionSession,
  method: HubMethodDescriptor,
  message: HubInvocation,
): Promise<void> | undefined {
  let result: unknown;
  try {
    const hub = runtime.createHub(session) as unknown as Record<string | symbol, (...args: unknown[]) => unknown>;
    result = hub[method.propertyKey]!(...message.arguments);
  } catch (error) {
    return threw(runtime, session, message, error);
  }
  if (isThenable(result)) {
    // Promise.resolve hands a native promise back as is; other thenables are adopted.
    return Promise.resolve(result).then(
      (value) => complete(runtime, session, message, value),
      (error: unknown) => threw(runtime, session, message, error),
    );
  }
  return complete(runtime, session, message, result);
}

function complete(runtime: HubRuntime, session: ConnectionSession, message: HubInvocation, value: unknown): undefined {
  const id = message.invocationId;
  if (id === undefined) return;
  try {
    // undefined (no return) is a void completion; null is a result.
    session.connection.write(value === undefined ? voidCompletion(id) : resultCompletion(id, value));
  } catch (error) {
    // The value could not be encoded (a cycle, a BigInt): the call fails, not the connection.
    threw(runtime, session, message, error);
  }
  return;
}

function threw(runtime: HubRuntime, session: ConnectionSession, message: HubInvocation, error: unknown): undefined {
  runtime.logger.error("Hub method threw", { ...session.logFields, method: message.target, error });
  const detail = detailFor(error, runtime.options.enableDetailedErrors);
  return fail(session, message, errorTexts.methodThrew(message.target, detail));
}

/** Answers an invocation with an error; a non-blocking invocation gets no reply at all. */
function fail(session: ConnectionSession, message: HubInvocation, text: string): undefined {
  if (message.invocationId !== undefined) session.connection.write(errorCompletion(message.invocationId, text));
  return;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}
