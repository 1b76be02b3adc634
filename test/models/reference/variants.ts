/** Every tiny checkpoint variant (scripts/make-tiny-checkpoints.ts) with its float64 reference forward. */
import type { RefCheckpoint, RefOutput } from "./common";
import { gpt2Reference } from "./gpt2";
import { llamaReference } from "./llama";
import { neoxReference } from "./neox";
import { optReference } from "./opt";

export const REFERENCES: [string, (c: RefCheckpoint, ids: number[]) => RefOutput][] = [
  ["llama-gqa", llamaReference],
  ["llama-tied", llamaReference],
  ["gpt2", gpt2Reference],
  ["opt", optReference],
  ["opt-350m-style", optReference],
  ["neox", neoxReference], // parallel residual, rotary on 2 of 8 head dims, old BOOL mask buffers
  ["neox-sequential", neoxReference], // use_parallel_residual=false, rotary_pct 0.5, tied
  ["qwen2", llamaReference], // q/k/v biases, no o_proj bias, tied, rope_theta 1e6
  ["qwen2-window", llamaReference], // untied, 3-position window on block 1 only
  ["mistral", llamaReference], // one kv head, 4-position window on every block, 7 positions
];
