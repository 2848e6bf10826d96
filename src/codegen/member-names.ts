import { HubwireError } from "../errors.js";
import type { HubModel, MethodModel } from "./hub-model.js";

/**
 * Names a generated client gives members of its own: `send` (the fire-and-forget forms), `on`
 * (handlers), and `then`, which the runtime proxy leaves undefined so a client is never taken for
 * a promise.
 */
const reservedMemberNames: ReadonlySet<string> = new Set(["send", "on", "then"]);

/**
 * The member each hub method gets in its generated client: its TypeScript name, or, when that is
 * reserved (a hub method named `send`), its wire name (`Send`). A clash that cannot be avoided
 * so (a wire name reserved too, or taken by another method) is a coded error naming the way out.
 */
export function memberNames(hub: HubModel): Map<MethodModel, string> {
  const names = new Map<MethodModel, string>();
  const owners = new Map<string, MethodModel>();
  for (const method of hub.methods) {
    const name = reservedMemberNames.has(method.name) ? method.wireName : method.name;
    const other = owners.get(name);
    const why = other
      ? `${hub.className}.${other.name} is generated as ${name}`
      : reservedMemberNames.has(name)
        ? `${name} is the generated client's own`
        : !/^[A-Za-z_$][\w$]*$/.test(name)
          ? `${name} is no identifier`
          : undefined;
    if (why) {
      throw new HubwireError(
        "ERR_CODEGEN_NAME_CLASH",
        `${hub.className}.${method.name} (wire name '${method.wireName}') cannot be named in the generated client: ${why}. ` +
          `Rename the method, or give it another wire name with @HubMethod("...").`,
      );
    }
    names.set(method, name);
    owners.set(name, method);
  }
  return names;
}
