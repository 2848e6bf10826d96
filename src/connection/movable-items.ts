/** How deep a value that moves may nest: deeper is not plain data here (and a cycle never ends). */
const maxDepth = 32;

/**
 * The entries of a connection's `items` that move with it to another server (a stateful
 * connection's move, docs/scale-out.md): those with a string key and plain data, which crosses
 * the backplane as it is: strings, numbers, booleans, null, byte arrays, and arrays and plain
 * objects of those. The rest stays behind (a Symbol key, a Map or Set, a Date, a class instance,
 * a function): `left` names their keys, so that the move can say which.
 */
export function movableItems(items: ReadonlyMap<unknown, unknown>): { moved: Array<[string, unknown]>; left: string[] } {
  const moved: Array<[string, unknown]> = [];
  const left: string[] = [];
  for (const [key, value] of items) {
    if (typeof key === "string" && isPlainData(value, 0)) moved.push([key, value]);
    else left.push(String(key));
  }
  return { moved, left };
}

/** The items a handoff carried (see movableItems); anything that is not a [string, value] pair is skipped. */
export function arrivedItems(carried: unknown): Array<[string, unknown]> {
  if (!Array.isArray(carried)) return [];
  return carried.filter((entry): entry is [string, unknown] => Array.isArray(entry) && entry.length === 2 && typeof entry[0] === "string");
}

function isPlainData(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      break;
    default:
      return false; // undefined, bigint, symbol, function
  }
  if (depth >= maxDepth) return false;
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.every((item) => isPlainData(item, depth + 1));
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  return Object.values(value).every((item) => isPlainData(item, depth + 1));
}
