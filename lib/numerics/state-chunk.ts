/** The unit every streaming computation consumes: the same run of rows ("chunk") of several states. */

/** One chunk of rows of several states, as yielded by HiddenStateDataset.chunks(). */
export interface StateChunk {
  /** First token (row) of the chunk on the dataset's `tokens` axis. */
  start: number;
  /** Number of rows in the chunk. */
  rows: number;
  /** One buffer per state, each [rows, d_model] row-major float32. */
  states: Float32Array[];
}
