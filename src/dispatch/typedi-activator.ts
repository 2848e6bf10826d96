import { Container } from "typedi";
import type { HubActivator } from "./hub-runtime.js";

type HubType = new (...args: any[]) => unknown;

/**
 * The default activator: typedi's global container, with one shortcut decided when a hub is
 * mapped. A hub whose constructor asks for nothing and that has no injected properties is made
 * with `new`, exactly as typedi would make it (the container as the only argument), without a
 * container lookup per call: that lookup walks every registered service and the class's metadata,
 * and costs more than a short hub method. ASP.NET Core's hub activator takes the same shortcut.
 */
export const typediActivator: Required<HubActivator> = {
  get: (type) => Container.get(type),
  factoryFor<T>(type: new (...args: any[]) => T): () => T {
    if (needsInjection(type)) return () => Container.get(type);
    const container = Container.of();
    return () => new type(container);
  },
};

/** Whether typedi would inject anything: constructor parameters, or properties marked with @Inject. */
function needsInjection(type: HubType): boolean {
  const parameters = (Reflect.getMetadata("design:paramtypes", type) as unknown[] | undefined) ?? [];
  if (type.length > 0 || parameters.length > 0) return true;
  // typedi's own rule for which property handlers apply to an instance of `type`.
  return Container.handlers.some(
    (handler) =>
      typeof handler.index !== "number" &&
      (handler.object.constructor === type || type.prototype instanceof (handler.object.constructor as HubType)),
  );
}

/** What hubwire uses of a typedi container of the application's own (`Container.of(id)`). */
interface ScopedContainer {
  get<T>(type: new (...args: any[]) => T): T;
  has?(id: unknown): boolean;
  set?(options: { id: unknown; type: HubType; transient: boolean }): unknown;
}

/**
 * An activator over a container the application supplies. typedi's scoped containers keep the
 * first instance of a service registered globally, even a transient one (HubClass registers every
 * hub so): one hub object would serve every call, and a call would see another connection's
 * context after an await. So each hub class is registered in the container itself as transient
 * before its first use, and every call gets a hub of its own, as with the global container.
 * Another kind of container (anything with `get`) is used as it is.
 */
export function containerActivator(container: ScopedContainer): HubActivator {
  return {
    get: (type) => container.get(type),
    factoryFor<T>(type: new (...args: any[]) => T): () => T {
      if (container.set && container.has && !container.has(type)) container.set({ id: type, type, transient: true });
      return () => container.get(type);
    },
  };
}
