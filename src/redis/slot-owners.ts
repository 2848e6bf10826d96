/** How many hash slots a Redis Cluster has. */
const SLOTS = 16_384;

/** The slots that moved between two reads of a cluster's slot map (see SlotOwners.take). */
export interface SlotMoves {
  /** The watched slots whose owner changed. */
  slots: number[];
  /** When the read before was asked for: until then, the slots were where that read found them. */
  since: number;
}

/**
 * Who owned each hash slot of a Redis Cluster at the last read of its slot map, to find the
 * slots a resharding or a failover handed to another shard since.
 */
export class SlotOwners {
  private owners: Array<string | undefined> | undefined;
  private readAt = 0;

  /**
   * Takes a slot map (ioredis's `slots`: each slot's nodes, its master first) read as asked at
   * `askedAt`. Returns which of the `watched` slots (every slot, if not given) has another owner
   * than at the last read; none at the first.
   */
  take(slots: ReadonlyArray<readonly string[] | undefined>, askedAt: number, watched?: Iterable<number>): SlotMoves {
    const since = this.readAt;
    this.readAt = askedAt;
    const owner = (slot: number) => slots[slot]?.[0];
    const before = this.owners;
    this.owners = Array.from({ length: SLOTS }, (_, slot) => owner(slot));
    if (!before) return { slots: [], since };
    const moved: number[] = [];
    for (const slot of watched ?? before.keys()) if (this.owners[slot] !== before[slot]) moved.push(slot);
    return { slots: moved, since };
  }
}
