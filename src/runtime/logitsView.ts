import { float16ToFloat32 } from './float16';

/**
 * Read access to a step's logits [batch, kept, vocab]. `kept` may be fewer than the step's tokens: either the graph was
 * asked for the last positions only (num_logits_to_keep; `firstColumn` is the step column of kept position 0), or it
 * gathered one column per row (`gatheredColumns[b]`, the derived graph) and kept = 1.
 *
 * The data may live in a buffer the runner reuses: a view is valid until the runner's next step.
 */
export class LogitsView {
  constructor(
    private readonly data: Float32Array | Uint16Array,
    readonly batch: number,
    readonly kept: number,
    readonly vocab: number,
    readonly firstColumn: number,
    private readonly gatheredColumns?: readonly number[],
  ) {}

  get elements(): number {
    return this.batch * this.kept * this.vocab;
  }

  /** Logits of row `b` at step column `column`, as float32 (a view when the graph returns float32). */
  row(b: number, column: number): Float32Array {
    if (this.gatheredColumns && this.gatheredColumns[b] !== column) {
      throw new Error(`logits for row ${b} were gathered at column ${this.gatheredColumns[b]}, not ${column}`);
    }
    const k = this.gatheredColumns ? 0 : column - this.firstColumn;
    if (k < 0 || k >= this.kept) throw new Error(`logits for column ${column} were not computed (kept ${this.kept} from ${this.firstColumn})`);
    const start = (b * this.kept + k) * this.vocab;
    if (this.data instanceof Float32Array) return this.data.subarray(start, start + this.vocab);
    const out = new Float32Array(this.vocab);
    for (let i = 0; i < this.vocab; i++) out[i] = float16ToFloat32(this.data[start + i]);
    return out;
  }
}
