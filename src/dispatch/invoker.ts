import type { HubMethodDescriptor } from "../hubs/hub-descriptor.js";
import {
  errorCompletion,
  MessageType,
  resultCompletion,
  voidCompletion,
  type InvocationMessage,
  type StreamInvocationMessage,
} from "../protocol/messages.js";
import { authenticationExpired, currentUser } from "./authentication-expiry.js";
import { isAuthorized } from "./authorization.js";
import type { ConnectionSession } from "./connection-session.js";
import { detailFor, errorTexts } from "./error-texts.js";
import { callHubMethod } from "./hub-filter.js";
import type { HubRuntime } from "./hub-runtime.js";
import type { InvocationScope } from "./invocation-scope.js";
import { pumpStream } from "./stream-pump.js";
import type { UploadStream } from "./upload-stream.js";

export type HubInvocation = InvocationMessage | StreamInvocationMessage;

/** One invocation on its way through the dispatcher. */
export interface InvocationWork {
  readonly message: HubInvocation;
  readonly scope: InvocationScope;
  /** The upload streams bound to it, in `streamIds` order. */
  readonly uploads: readonly UploadStream[] | undefined;
  /** Streams and uploads run in the background: they do not hold a parallel-invocation slot. */
  readonly background: boolean;
}

/**
 * Runs one invocation to its Completion: lookup, checks, a fresh hub instance, the call, and for
 * a streaming method the stream. Never throws; returns a promise only when there is something to
 * wait for, so a synchronous method costs no promise.
 */
export function invoke(runtime: HubRuntime, session: ConnectionSession, work: InvocationWork): Promise<void> | undefined {
  const { message } = work;
  const method = runtime.findMethod(message.target);
  if (!method) {
    runtime.logger.warn("Unknown hub method", { ...session.logFields, method: message.target });
    return fail(session, message, errorTexts.unknownMethod(message.target));
  }
  if (message.type === MessageType.StreamInvocation && !method.streaming) {
    return fail(session, message, errorTexts.nonStreamingWithStream(message.target));
  }
  if (message.type === MessageType.Invocation && method.streaming) {
    return fail(session, message, errorTexts.streamingWithInvoke(message.target));
  }
  const streams = message.streamIds?.length ?? 0;
  if (streams !== method.uploadStreams.length) {
    const detail = ` HubException: ${errorTexts.streamCountMismatch(streams, method.uploadStreams.length)}`;
    return fail(session, message, errorTexts.methodThrew(message.target, detail));
  }
  if (message.arguments.length !== method.argumentCount) {
    const reason = errorTexts.argumentCount(message.arguments.length, method.argumentCount);
    runtime.logger.warn("Hub method called with the wrong argument count", { ...session.logFields, method: message.target, reason });
    const detail = runtime.options.enableDetailedErrors ? ` InvalidDataException: ${reason}` : "";
    return fail(session, message, errorTexts.bindingFailed(message.target, detail));
  }
  // Past its user's authentication, a connection to an @Authorize hub has nobody to authorize.
  const guarded =
    method.authorize.length > 0 || (runtime.descriptor.authorize.length > 0 && authenticationExpired(session.connection.transport));
  if (guarded) return authorizeThenRun(runtime, session, method, work);
  return run(runtime, session, method, work);
}

async function authorizeThenRun(
  runtime: HubRuntime,
  session: ConnectionSession,
  method: HubMethodDescriptor,
  work: InvocationWork,
): Promise<void> {
  const { connection } = session;
  const { message } = work;
  let allowed = false;
  try {
    // Checked against a user whose authentication still holds: an expired one is nobody.
    const rules = method.authorize.length > 0 ? method.authorize : runtime.descriptor.authorize;
    allowed = await isAuthorized(rules, currentUser(connection.transport), runtime.policies, {
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
  return run(runtime, session, method, work);
}

function run(
  runtime: HubRuntime,
  session: ConnectionSession,
  method: HubMethodDescriptor,
  work: InvocationWork,
): Promise<void> | undefined {
  const { message } = work;
  let result: unknown;
  try {
    const hub = runtime.createHub(session, work.scope);
    const args = bindArguments(method, work);
    const filtered = runtime.filters.invoke;
    result = filtered ? filtered({ hub, context: hub.context, method, arguments: args }) : callHubMethod(hub, method, args);
  } catch (error) {
    return threw(runtime, session, message, error);
  }
  if (method.streaming) return startStream(runtime, session, work, result);
  if (isThenable(result)) {
    // Promise.resolve hands a native promise back as is; other thenables are adopted.
    return Promise.resolve(result).then(
      (value) => complete(runtime, session, message, value),
      (error: unknown) => threw(runtime, session, message, error),
    );
  }
  return complete(runtime, session, message, result);
}

/** Inline arguments in order, with each upload stream at its parameter's position. */
function bindArguments(method: HubMethodDescriptor, work: InvocationWork): unknown[] {
  const { uploads } = work;
  if (!uploads) return work.message.arguments;
  const args = new Array<unknown>(method.parameterCount);
  let inline = 0;
  let stream = 0;
  for (let i = 0; i < args.length; i++) {
    args[i] = method.uploadStreams[stream] === i ? uploads[stream++] : work.message.arguments[inline++];
  }
  return args;
}

async function startStream(runtime: HubRuntime, session: ConnectionSession, work: InvocationWork, result: unknown): Promise<void> {
  const { message } = work;
  let iterable: unknown;
  try {
    iterable = await result; // a method may return a promise of its stream
  } catch (error) {
    return threw(runtime, session, message, error);
  }
  if (!isAsyncIterable(iterable)) {
    runtime.logger.error("Streaming hub method returned no async iterable", { ...session.logFields, method: message.target });
    return fail(session, message, errorTexts.notAStream(message.target));
  }
  if (message.invocationId === undefined) return; // the streaming mismatch check makes this unreachable
  await pumpStream(iterable, message.invocationId, {
    connection: session.connection,
    scope: work.scope,
    enableDetailedErrors: runtime.options.enableDetailedErrors,
    onError: (error) => runtime.logger.error("Hub stream failed", { ...session.logFields, method: message.target, error }),
  });
}

function complete(runtime: HubRuntime, session: ConnectionSession, message: HubInvocation, value: unknown): undefined {
  const id = message.invocationId;
  if (id === undefined) return;
  try {
    // undefined (no return) is a void completion; null is a result.
    session.connection.write(value === undefined ? voidCompletion(id) : resultCompletion(id, value));
  } catch (error) {
    // The value could not be encoded (a cycle, a BigInt in JSON): the call fails, not the connection.
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

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === "object" && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}
