/** How many hash slots a Redis Cluster has. */
const SLOTS = 16_384;

/** The slots that moved, found by a read of a cluster's slot map (see SlotOwners.take). */
export interface SlotMoves {
  /** The watched slots whose owner changed. */
  slots: number[];
  /** Since when what was published to them may have missed their subscribers (see SlotOwners.take). */
  since: number;
}

/**
 * Who owned each hash slot of a Redis Cluster at the last read of its slot map, to find the
 * slots a resharding or a failover handed to another shard since.
 */
export class SlotOwners {
  private owners: Array<string | undefined> | undefined;
  /** When the last two reads were asked for, the older first. */
  private readsAt: [number, number] = [0, 0];
  /** When Redis was first seen ending a subscription itself since the last move found (see ended). */
  private endedAt: number | undefined;

  /**
   * @param margin how much earlier still a move's `since` is: the new owner may take sends
   *   (from a server whose publisher, made again in a failover's pause, read the new map first)
   *   before the old one ends the subscriptions, and heartbeats naming them be heard meanwhile.
   */
  constructor(private readonly margin = 0) {}

  /**
   * Redis ended a subscription itself at `at`, as a shard does for the slots it hands on: a read
   * just after may not show the move yet (see take).
   */
  ended(at: number): void {
    this.endedAt ??= at;
  }

  /**
   * Takes a slot map (ioredis's `slots`: each slot's nodes, its master first) read as asked at
   * `askedAt`. Returns which of the `watched` slots (every slot, if not given) has another owner
   * than at the last read; none at the first.
   *
   * A node may answer a moment behind a change just made (it has not heard of it yet), so the
   * read before may have found a slot in place though its subscriptions had already ended: what
   * was published to a moved slot is taken as possibly missed since the read before that one,
   * or since Redis was seen ending a subscription, if earlier; `margin` before that.
   */
  take(slots: ReadonlyArray<readonly string[] | undefined>, askedAt: number, watched?: Iterable<number>): SlotMoves {
    const since = Math.min(this.readsAt[0], this.endedAt ?? Infinity) - this.margin;
    this.readsAt = [this.readsAt[1], askedAt];
    const owner = (slot: number) => slots[slot]?.[0];
    const before = this.owners;
    this.owners = Array.from({ length: SLOTS }, (_, slot) => owner(slot));
    if (!before) return { slots: [], since };
    const moved: number[] = [];
    for (const slot of watched ?? before.keys()) if (this.owners[slot] !== before[slot]) moved.push(slot);
    // Kept until a move is found, however many reads are behind it: too early a start costs a
    // longer replay (bounded by what peers keep), too late a one loses.
    if (moved.length > 0) this.endedAt = undefined;
    return { slots: moved, since };
  }
}
