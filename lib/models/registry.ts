/** Every model family by name: the records in lib/models/<family>/family.ts. */
import type { Family } from "./config";
import type { ModelFamily } from "./family";
import { GPT_NEOX } from "./gpt_neox/family";
import { GPT2 } from "./gpt2/family";
import { LLAMA } from "./llama/family";
import { OPT } from "./opt/family";

export const FAMILIES: Readonly<Record<Family, ModelFamily>> = { gpt2: GPT2, opt: OPT, llama: LLAMA, gpt_neox: GPT_NEOX };
