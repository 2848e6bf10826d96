import "reflect-metadata";
import { HubwireError } from "../errors.js";
import {
  authorizeKey,
  hubClassKey,
  hubMethodsKey,
  methodAuthorizeKey,
  uploadStreamsKey,
  type AuthorizeRule,
  type RecordedHubMethod,
} from "./decorators.js";
import { Hub } from "./hub.js";

/** A hub class, as mapHub takes it. */
export type HubClassType<THub extends Hub<any> = Hub<any>> = new (...args: any[]) => THub;

export interface HubMethodDescriptor {
  /** The name clients call, as declared. */
  readonly wireName: string;
  readonly propertyKey: string | symbol;
  /** How many parameters the method declares, upload streams included. */
  readonly parameterCount: number;
  /** How many arguments a call must carry inline (the parameters that are not upload streams). */
  readonly argumentCount: number;
  /** The method returns an async iterable that is streamed to the client. */
  readonly streaming: boolean;
  /** Indexes of the parameters bound to upload streams, ascending. */
  readonly uploadStreams: readonly number[];
  /** Method-level @Authorize rules (hub-level ones are checked when connecting). */
  readonly authorize: readonly AuthorizeRule[];
}

/** Everything the dispatcher needs about a hub, read once when it is mapped, then frozen. */
export interface HubDescriptor {
  readonly name: string;
  readonly hubClass: HubClassType;
  /** Methods by lower-cased wire name: lookup is case-insensitive, as in ASP.NET Core. */
  readonly methods: ReadonlyMap<string, HubMethodDescriptor>;
  readonly authorize: readonly AuthorizeRule[];
}

const lifecycleMethods = new Set(["onConnected", "onDisconnected", "onAuthenticationRefreshed", "constructor"]);
/** What Hub gives every instance: a method of the same name would hide it, or be hidden (`groups` and `connections` are set on each instance). */
const hubMembers = new Set(["clients", "context", "groups", "connections", "signal"]);

/** Reads a hub class's decorators into a frozen descriptor; a bad hub fails here, at startup. */
export function describeHub(hubClass: HubClassType): HubDescriptor {
  const className = hubClass?.name || "(anonymous class)";
  if (typeof hubClass !== "function" || !(hubClass.prototype instanceof Hub)) {
    throw new HubwireError("ERR_HUB_NOT_A_HUB", `${className} does not extend Hub.`);
  }
  const classInfo: { name: string } | undefined = Reflect.getOwnMetadata(hubClassKey, hubClass);
  if (!classInfo) {
    throw new HubwireError("ERR_HUB_NOT_DECORATED", `${className} is not decorated with @HubClass().`);
  }

  const methods = new Map<string, HubMethodDescriptor>();
  for (const recorded of recordedMethods(hubClass)) {
    const method = describeMethod(hubClass, recorded, className);
    const key = method.wireName.toLowerCase();
    const existing = methods.get(key);
    if (existing && existing.propertyKey !== method.propertyKey) {
      throw new HubwireError(
        "ERR_HUB_DUPLICATE_METHOD",
        `${className} declares the hub method name '${method.wireName}' twice ` +
          `(${String(existing.propertyKey)} and ${String(method.propertyKey)}); names are case-insensitive.`,
      );
    }
    if (!existing) methods.set(key, method);
  }

  return Object.freeze({
    name: classInfo.name,
    hubClass,
    methods,
    authorize: Object.freeze(classRules(hubClass, authorizeKey)),
  });
}

/** Methods recorded on the class and its ancestors; a subclass's own declaration wins. */
function recordedMethods(hubClass: HubClassType): RecordedHubMethod[] {
  const chain: object[] = [];
  for (let c: object | null = hubClass; c && c !== Hub; c = Object.getPrototypeOf(c)) chain.unshift(c);
  const byProperty = new Map<string | symbol, RecordedHubMethod>();
  for (const owner of chain) {
    for (const recorded of (Reflect.getOwnMetadata(hubMethodsKey, owner) ?? []) as RecordedHubMethod[]) {
      byProperty.set(recorded.propertyKey, recorded);
    }
  }
  return [...byProperty.values()];
}

function describeMethod(hubClass: HubClassType, recorded: RecordedHubMethod, className: string): HubMethodDescriptor {
  const where = `${className}.${String(recorded.propertyKey)}`;
  const fn: unknown = (hubClass.prototype as Record<string | symbol, unknown>)[recorded.propertyKey];
  if (typeof fn !== "function") {
    throw new HubwireError("ERR_HUB_INVALID_METHOD", `@HubMethod() on ${where}, which is not a method.`);
  }
  if (typeof recorded.propertyKey === "string" && lifecycleMethods.has(recorded.propertyKey)) {
    throw new HubwireError("ERR_HUB_INVALID_METHOD", `${where} is a lifecycle method and cannot be a hub method.`);
  }
  if (typeof recorded.propertyKey === "string" && hubMembers.has(recorded.propertyKey)) {
    throw new HubwireError("ERR_HUB_INVALID_METHOD", `${where} has the name of a Hub member (${[...hubMembers].join(", ")}): rename it, and keep its wire name with @HubMethod("${recorded.wireName}").`);
  }
  if (!/^\S+$/.test(recorded.wireName)) {
    throw new HubwireError("ERR_HUB_INVALID_METHOD", `${where} has an empty or blank hub method name.`);
  }
  const paramTypes: unknown[] | undefined = Reflect.getMetadata("design:paramtypes", hubClass.prototype, recorded.propertyKey);
  const parameterCount = paramTypes ? paramTypes.length : (fn as (...args: unknown[]) => unknown).length;
  const uploadStreams = uploadStreamIndexes(hubClass, recorded.propertyKey);
  if (uploadStreams.some((index) => index >= parameterCount)) {
    throw new HubwireError("ERR_HUB_INVALID_METHOD", `${where} binds an upload stream to a parameter it does not declare.`);
  }
  const isGenerator = (fn as { constructor?: { name?: string } }).constructor?.name === "AsyncGeneratorFunction";
  if (recorded.stream === false && isGenerator) {
    throw new HubwireError("ERR_HUB_INVALID_METHOD", `${where} is an async generator, so it always streams; remove stream: false.`);
  }
  return Object.freeze({
    wireName: recorded.wireName,
    propertyKey: recorded.propertyKey,
    parameterCount,
    argumentCount: parameterCount - uploadStreams.length,
    streaming: recorded.stream ?? isGenerator,
    uploadStreams: Object.freeze(uploadStreams),
    authorize: Object.freeze(classRules(hubClass, methodAuthorizeKey(recorded.propertyKey))),
  });
}

/** Upload-stream parameter indexes of a method, from the class that declares it (or an ancestor). */
function uploadStreamIndexes(hubClass: HubClassType, propertyKey: string | symbol): number[] {
  for (let c: object | null = hubClass; c && c !== Hub; c = Object.getPrototypeOf(c)) {
    const indexes: number[] | undefined = Reflect.getOwnMetadata(uploadStreamsKey(propertyKey), c);
    if (indexes) return [...new Set(indexes)];
  }
  return [];
}

/** @Authorize rules under `key` from the class and its ancestors. */
function classRules(hubClass: HubClassType, key: string | symbol): AuthorizeRule[] {
  const rules: AuthorizeRule[] = [];
  for (let c: object | null = hubClass; c && c !== Hub; c = Object.getPrototypeOf(c)) {
    rules.push(...((Reflect.getOwnMetadata(key, c) ?? []) as AuthorizeRule[]));
  }
  return rules;
}
