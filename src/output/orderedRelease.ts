/**
 * Holds finished items until every item before them (in input order) is out: `--ordered` on stdout. `expected` lists
 * the input indexes this run writes, so gaps (other shards' lines, lines a resumed file already has) are not waited for.
 */
export class OrderedRelease<T> {
  private readonly order: number[];
  private next = 0;
  private readonly held = new Map<number, T>();

  constructor(expected: Iterable<number>, private readonly emit: (item: T) => void) {
    this.order = [...new Set(expected)].sort((a, b) => a - b);
  }

  add(index: number, item: T): void {
    this.held.set(index, item);
    while (this.next < this.order.length && this.held.has(this.order[this.next])) {
      const at = this.order[this.next++];
      const ready = this.held.get(at)!;
      this.held.delete(at);
      this.emit(ready);
    }
  }

  /** Emits whatever is still held, in order (an interrupted run: what finished is never lost). */
  flush(): void {
    for (const index of [...this.held.keys()].sort((a, b) => a - b)) this.emit(this.held.get(index)!);
    this.held.clear();
  }

  get heldCount(): number {
    return this.held.size;
  }
}
