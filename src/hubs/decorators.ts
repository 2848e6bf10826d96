import "reflect-metadata";
import { Service } from "typedi";

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
}

/** An `@Authorize` requirement: an authenticated user, and the policy when one is named. */
export interface AuthorizeRule {
  policy?: string;
}

export interface RecordedHubMethod {
  propertyKey: string | symbol;
  wireName: string;
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
  return (target) => {
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
    const owner = target.constructor;
    const recorded: RecordedHubMethod[] = Reflect.getOwnMetadata(hubMethodsKey, owner) ?? [];
    recorded.push({ propertyKey, wireName: options.name ?? String(propertyKey) });
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
    const holder = propertyKey === undefined ? target : (target as { constructor: object }).constructor;
    const key = propertyKey === undefined ? authorizeKey : methodAuthorizeKey(propertyKey);
    const rules: AuthorizeRule[] = Reflect.getOwnMetadata(key, holder) ?? [];
    Reflect.defineMetadata(key, [...rules, rule], holder);
  }) as ClassDecorator & MethodDecorator;
}

/** Where a method's @Authorize rules are kept (on the class, so inheritance works like methods). */
export function methodAuthorizeKey(propertyKey: string | symbol): string {
  return `hubwire:authorize:${String(propertyKey)}`;
}
