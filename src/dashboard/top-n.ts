/**
 * The `n` largest of a stream of named sizes, in memory of `n` entries whatever the stream's
 * length: a min-heap whose root is the smallest kept, replaced when a larger one comes.
 */
export class TopN {
  private readonly names: string[] = [];
  private readonly sizes: number[] = [];

  constructor(private readonly n: number) {}

  offer(name: string, size: number): void {
    if (this.n <= 0) return;
    if (this.sizes.length < this.n) {
      this.names.push(name);
      this.sizes.push(size);
      this.up(this.sizes.length - 1);
    } else if (size > this.sizes[0]!) {
      this.names[0] = name;
      this.sizes[0] = size;
      this.down(0);
    }
  }

  /** What was kept, largest first (equal sizes by name). */
  result(): Array<{ name: string; size: number }> {
    return this.names
      .map((name, i) => ({ name, size: this.sizes[i]! }))
      .sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.sizes[parent]! <= this.sizes[i]!) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const length = this.sizes.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < length && this.sizes[left]! < this.sizes[smallest]!) smallest = left;
      if (right < length && this.sizes[right]! < this.sizes[smallest]!) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(a: number, b: number): void {
    [this.names[a], this.names[b]] = [this.names[b]!, this.names[a]!];
    [this.sizes[a], this.sizes[b]] = [this.sizes[b]!, this.sizes[a]!];
  }
}
