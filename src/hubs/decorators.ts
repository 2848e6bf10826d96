import "reflect-metadata";
import { Service } from "typedi";
import { HubwireError } from "../errors.js";

/** Metadata keys; decorators only record, hub-descriptor.ts reads them once at mapping time. */
export const hubClassKey = Symbol.for("hubwire:hub-class");
export const hubMethodsKey = Symbol.for("hubwire:hub-methods");
export const authorizeKey = Symbol.for("hubwire:authorize");

export interface HubClassOptions {
  /** The hub's name in logs (defaults to the class name). */
  name?: string;
}

export interface HubMethodOptions {
  /** The name clients call (defaults to the TypeScript method name). */
  name?: string;
  /**
   * The method streams its results: it returns an async iterable, and clients call it with
   * `stream()`. An `async *` generator method is a stream without saying so.
   */
  stream?: boolean;
}

/** An `@Authorize` requirement: an authenticated user, and the policy when one is named. */
export interface AuthorizeRule {
  policy?: string;
}

export interface RecordedHubMethod {
  propertyKey: string | symbol;
  wireName: string;
  stream: boolean | undefined;
}

/**
 * Marks a class as a hub and registers it with typedi, so its constructor parameters are
 * injected. A new instance is made for every invocation.
 *
 * @example
 * @HubClass()
 * class ChatHub extends Hub<ChatClient> { constructor(private readonly rooms: RoomService) { super(); } }
 */
export function HubClass(options: HubClassOptions = {}): ClassDecorator {
  return (target, ...rest: unknown[]) => {
    rejectStandardDecorator("@HubClass()", rest[0]);
    Reflect.defineMetadata(hubClassKey, { name: options.name ?? target.name }, target);
    Service({ transient: true })(target);
  };
}

/**
 * Makes a method callable from clients. Undecorated methods are never reachable from the wire.
 *
 * @example
 * @HubMethod("Echo") echo(text: string) { return text; }
 */
export function HubMethod(nameOrOptions?: string | HubMethodOptions): MethodDecorator {
  const options = typeof nameOrOptions === "string" ? { name: nameOrOptions } : (nameOrOptions ?? {});
  return (target, propertyKey) => {
    rejectStandardDecorator("@HubMethod()", propertyKey);
    const owner = target.constructor;
    const recorded: RecordedHubMethod[] = Reflect.getOwnMetadata(hubMethodsKey, owner) ?? [];
    recorded.push({ propertyKey, wireName: options.name ?? String(propertyKey), stream: options.stream });
    Reflect.defineMetadata(hubMethodsKey, recorded, owner);
  };
}

/**
 * Requires an authenticated user for a whole hub (checked when connecting: 401 / 403) or for one
 * method (checked per call). A named policy must be given to the server in `policies`.
 *
 * @example
 * @Authorize("admin") @HubMethod() deleteAll() { ... }
 */
export function Authorize(policy?: string): ClassDecorator & MethodDecorator {
  const rule: AuthorizeRule = policy === undefined ? {} : { policy };
  return ((target: object, propertyKey?: string | symbol) => {
    rejectStandardDecorator("@Authorize()", propertyKey);
    const holder = propertyKey === undefined ? target : (target as { constructor: object }).constructor;
    const key = propertyKey === undefined ? authorizeKey : methodAuthorizeKey(propertyKey);
    const rules: AuthorizeRule[] = Reflect.getOwnMetadata(key, holder) ?? [];
    Reflect.defineMetadata(key, [...rules, rule], holder);
  }) as ClassDecorator & MethodDecorator;
}

/**
 * hubwire's decorators are TypeScript's legacy decorators. Without `experimentalDecorators`,
 * TypeScript (or a bundler) calls them as standard decorators, with a context object in place of
 * the property key; recording nothing then would map a hub that answers every call with
 * "Method does not exist", so the mistake stops the program where the hub is declared.
 */
function rejectStandardDecorator(decorator: string, second: unknown): void {
  if (typeof second !== "object" || second === null || !("kind" in second)) return;
  const { kind, name } = second as { kind: unknown; name?: unknown };
  const on = typeof name === "string" ? ` on ${String(kind)} '${name}'` : "";
  throw new HubwireError(
    "ERR_STANDARD_DECORATOR",
    `${decorator} was called as a standard (TC39) decorator${on}. hubwire's decorators need TypeScript's legacy decorators: ` +
      `set "experimentalDecorators": true and "emitDecoratorMetadata": true in tsconfig.json ` +
      `(with another compiler or a bundler, turn on its legacy-decorator option).`,
  );
}

/** Where a method's @Authorize rules are kept (on the class, so inheritance works like methods). */
export function methodAuthorizeKey(propertyKey: string | symbol): string {
  return `hubwire:authorize:${String(propertyKey)}`;
}

/** Where a method's upload-stream parameter indexes are kept (on the class, like @Authorize). */
export function uploadStreamsKey(propertyKey: string | symbol): string {
  return `hubwire:upload-streams:${String(propertyKey)}`;
}

/**
 * Binds a parameter to a stream the client uploads: it receives an `AsyncIterable` of the items,
 * ending when the client completes the stream. Clients send such arguments as streams (the
 * official client: a `Subject`), never inline.
 *
 * @example
 * @HubMethod() async sum(@UploadStream() numbers: AsyncIterable<number>) {
 *   let total = 0;
 *   for await (const n of numbers) total += n;
 *   return total;
 * }
 */
export function UploadStream(): ParameterDecorator {
  return (target, propertyKey, parameterIndex) => {
    if (propertyKey === undefined) return; // a constructor parameter: the descriptor reports nothing to bind
    const owner = (target as { constructor: object }).constructor;
    const key = uploadStreamsKey(propertyKey);
    const indexes: number[] = Reflect.getOwnMetadata(key, owner) ?? [];
    Reflect.defineMetadata(key, [...indexes, parameterIndex].sort((a, b) => a - b), owner);
  };
}
