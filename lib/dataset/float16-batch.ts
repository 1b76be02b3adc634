/**
 * A batch's float16 states, encoded as the forward pass makes them: `linearity extract` in the
 * main thread puts each hidden state here as it comes out of the wasm heap, so no float32 copy of
 * the batch is made. Why: that copy was fresh memory (96 MiB for TinyLlama's 512 tokens), and on
 * the virtual machines this project is measured on a first touch of 1 GiB costs 1.8-3.8 s.
 * HiddenStateWriter.float16Batch makes one, HiddenStateWriter.appendAsync writes it.
 */
import { encodeF16Checked } from "../io/f16";
import { checkFinite } from "../numerics/check";

/** States [tokens, d_model] of a batch, each state's float16 bits one view of the writer's buffer. */
export class Float16Batch {
  /** Values put so far, per state. */
  private readonly filled: number[];

  /**
   * `buffer` holds n_states x tokens x d_model values (state after state); `firstRow` is the
   * dataset row of the batch's first token (named in errors).
   */
  constructor(
    readonly buffer: Uint16Array,
    readonly nStates: number,
    readonly tokens: number,
    readonly dModel: number,
    private readonly firstRow: number,
  ) {
    if (buffer.length < nStates * tokens * dModel) throw new Error(`Float16Batch: buffer holds ${buffer.length} values, fewer than ${nStates} x ${tokens} x ${dModel}`);
    this.filled = new Array<number>(nStates).fill(0);
  }

  /**
   * Encode rows [row, row + values.length / d_model) of state `state` ([rows, d_model] row-major),
   * refusing NaN, infinities and values float16 cannot hold with append's messages.
   */
  put(state: number, row: number, values: Float32Array): void {
    const rows = values.length / this.dModel;
    if (!(Number.isInteger(state) && state >= 0 && state < this.nStates && Number.isInteger(row) && row >= 0 && Number.isInteger(rows) && row + rows <= this.tokens)) {
      throw new Error(`Float16Batch.put: state ${state}, rows ${row}..${row + rows} (${values.length} values) outside ${this.nStates} states x ${this.tokens} rows of ${this.dModel}`);
    }
    const at = (state * this.tokens + row) * this.dModel;
    const bad = encodeF16Checked(values, this.buffer.subarray(at, at + values.length));
    if (bad >= 0) refuseForFloat16(values, state, bad, this.dModel, this.firstRow + row);
    this.filled[state] += values.length;
  }

  /** The encoded states, one [tokens * d_model] view each; refused unless every row of every state was put once. */
  states(): Uint16Array[] {
    const length = this.tokens * this.dModel;
    const short = this.filled.findIndex((n) => n !== length);
    if (short >= 0) throw new Error(`append: state ${short} of the batch has ${this.filled[short]} values put, expected ${length}`);
    return Array.from({ length: this.nStates }, (_, s) => this.buffer.subarray(s * length, (s + 1) * length));
  }
}

/**
 * Throw append's one-line error for `buf` ([rows, cols] of state `state`, starting at dataset row
 * `rowOffset`), whose value at `first` has no finite float16: a NaN or infinity from that row on
 * is named as such, else the overflow.
 */
export function refuseForFloat16(buf: Float32Array, state: number, first: number, cols: number, rowOffset: number): never {
  // Nothing before `first` is NaN or infinite: check from its row on.
  const from = first - (first % cols);
  checkFinite("append", `state ${state}`, buf.subarray(from), cols, rowOffset + from / cols);
  throw new Error(
    `append: state ${state} value ${buf[first]} at row ${rowOffset + Math.floor(first / cols)}, column ${first % cols} overflows float16 (max 65504); write the dataset as float32`,
  );
}
