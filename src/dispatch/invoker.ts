import type { HubMethodDescriptor } from "../hubs/hub-descriptor.js";
import {
  errorCompletion,
  MessageType,
  resultCompletion,
  type InvocationMessage,
  type StreamInvocationMessage,
} from "../protocol/messages.js";
import { authenticationExpired, currentUser } from "./authentication-expiry.js";
import { isAuthorized } from "./authorization.js";
import type { ConnectionSession } from "./connection-session.js";
import { dispatchLog } from "./dispatch-log.js";
import { detailFor, errorTexts, isHubException } from "./error-texts.js";
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
 * Runs one invocation to its Completion: lookup, authorization, checks of the call's shape, a
 * fresh hub instance, the call, and for a streaming method the stream. Authorization comes
 * before any check of the shape, as in ASP.NET Core, so a denied caller learns nothing about
 * the method but its name. Never throws, and a promise it returns never rejects, whatever the
 * hub throws; it returns a promise only when there is something to wait for, so a synchronous
 * method costs no promise.
 */
export function invoke(runtime: HubRuntime, session: ConnectionSession, work: InvocationWork): Promise<void> | undefined {
  const { message } = work;
  const method = runtime.findMethod(message.target);
  if (!method) {
    runtime.log.write(dispatchLog.unknownMethod, { ...session.logFields, method: message.target });
    return fail(session, message, errorTexts.unknownMethod(message.target));
  }
  if (runtime.log.debugEnabled) {
    runtime.log.write(dispatchLog.invocationStarted, { ...session.logFields, method: message.target, invocationId: message.invocationId });
  }
  // Past its user's authentication, a connection to an @Authorize hub has nobody to authorize.
  const guarded =
    method.authorize.length > 0 || (runtime.descriptor.authorize.length > 0 && authenticationExpired(session.connection.transport));
  if (guarded) return authorizeThenRun(runtime, session, method, work);
  return checkThenRun(runtime, session, method, work);
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
    runtime.log.write(dispatchLog.policyThrew, { ...session.logFields, method: message.target, error });
  }
  if (!allowed) {
    runtime.log.write(dispatchLog.callDenied, { ...session.logFields, method: message.target, userIdentifier: connection.userIdentifier });
    return fail(session, message, errorTexts.unauthorized(message.target));
  }
  return checkThenRun(runtime, session, method, work);
}

/** The call's shape against the method's: invocation mode, upload streams, arguments. */
function checkThenRun(
  runtime: HubRuntime,
  session: ConnectionSession,
  method: HubMethodDescriptor,
  work: InvocationWork,
): Promise<void> | undefined {
  const { message } = work;
  const streamCall = message.type === MessageType.StreamInvocation;
  if (streamCall !== method.streaming) {
    runtime.log.write(dispatchLog.invocationModeMismatch, { ...session.logFields, method: message.target });
    const text = streamCall ? errorTexts.nonStreamingWithStream : errorTexts.streamingWithInvoke;
    return fail(session, message, text(message.target));
  }
  const streams = message.streamIds?.length ?? 0;
  if (streams !== method.uploadStreams.length) {
    const reason = errorTexts.streamCountMismatch(streams, method.uploadStreams.length);
    runtime.log.write(dispatchLog.streamCountMismatch, { ...session.logFields, method: message.target, reason });
    return fail(session, message, errorTexts.methodThrew(message.target, ` HubException: ${reason}`));
  }
  if (message.arguments.length !== method.argumentCount) {
    const reason = errorTexts.argumentCount(message.arguments.length, method.argumentCount);
    runtime.log.write(dispatchLog.wrongArgumentCount, { ...session.logFields, method: message.target, reason });
    const detail = runtime.options.enableDetailedErrors ? ` InvalidDataException: ${reason}` : "";
    return fail(session, message, errorTexts.bindingFailed(message.target, detail));
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
  let thenable: boolean;
  try {
    const hub = runtime.createHub(session, work.scope);
    const args = bindArguments(method, work);
    const filtered = runtime.filters.invoke;
    result = filtered ? filtered({ hub, context: hub.context, method, arguments: args, headers: work.message.headers }) : callHubMethod(hub, method, args);
    // Inside the try: reading `then` of a returned Proxy may throw too.
    thenable = !method.streaming && isThenable(result);
  } catch (error) {
    return threw(runtime, session, message, error);
  }
  if (method.streaming) return startStream(runtime, session, work, result);
  if (thenable) {
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
  let streamable: boolean;
  try {
    iterable = await result; // a method may return a promise of its stream
    streamable = isAsyncIterable(iterable);
  } catch (error) {
    return threw(runtime, session, message, error);
  }
  if (!streamable) {
    runtime.log.write(dispatchLog.notAStream, { ...session.logFields, method: message.target });
    return fail(session, message, errorTexts.notAStream(message.target));
  }
  if (message.invocationId === undefined) return; // the streaming mismatch check makes this unreachable
  await pumpStream(iterable as AsyncIterable<unknown>, message.invocationId, {
    connection: session.connection,
    scope: work.scope,
    enableDetailedErrors: runtime.options.enableDetailedErrors,
    onError: (error) => {
      const event = isHubException(error) ? dispatchLog.hubExceptionThrown : dispatchLog.streamFailed;
      runtime.log.write(event, { ...session.logFields, method: message.target, error });
    },
  });
}

function complete(runtime: HubRuntime, session: ConnectionSession, message: HubInvocation, value: unknown): undefined {
  const id = message.invocationId;
  if (id === undefined) return;
  try {
    // A method that returns nothing completes with a null result, as ASP.NET Core's void methods
    // do (`"result":null`; MessagePack: result kind 3, nil).
    session.connection.write(resultCompletion(id, value === undefined ? null : value));
  } catch (error) {
    // The value could not be encoded (a cycle, a BigInt in JSON): the call fails, not the connection.
    threw(runtime, session, message, error);
  }
  return;
}

/** The call failed, whatever was thrown (an Error, a string, undefined, a Proxy that throws on every access). */
function threw(runtime: HubRuntime, session: ConnectionSession, message: HubInvocation, error: unknown): undefined {
  // A HubException is the hub answering its caller, not a fault to fix.
  const event = isHubException(error) ? dispatchLog.hubExceptionThrown : dispatchLog.methodFailed;
  runtime.log.write(event, { ...session.logFields, method: message.target, error });
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
