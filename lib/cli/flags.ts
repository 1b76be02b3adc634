/**
 * Parsing of command-line flag values, one place for every sub-command: each parser names its
 * flag in a one-line error. Library functions name their own options ('maxTokens') in errors;
 * {@link optionsAsFlags} rewrites those names into the flags a CLI user typed (--max-tokens).
 */
import type { Command } from "commander";

/** A flag that must be a positive integer. */
export function positiveIntFlag(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
      throw new Error(`${flag} must be a positive integer, got '${value}'`);
    }
    return n;
  };
}

/** A flag that must be a non-negative integer. */
export function nonNegativeIntFlag(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
      throw new Error(`${flag} must be a non-negative integer, got '${value}'`);
    }
    return n;
  };
}

/** A flag that must be an integer (any sign; range checks are the library's). */
export function intFlag(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n)) throw new Error(`${flag} must be an integer, got '${value}'`);
    return n;
  };
}

/** A flag that must be a finite number (range checks are the library's). */
export function numberFlag(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new Error(`${flag} must be a number, got '${value}'`);
    return n;
  };
}

/** A flag that must be a positive number. */
export function positiveNumberFlag(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got '${value}'`);
    return n;
  };
}

/** A flag that must be a fraction in (0, 1]. */
export function fractionFlag(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !(n > 0 && n <= 1)) throw new Error(`${flag} must be a number in (0, 1], got '${value}'`);
    return n;
  };
}

/** A comma-separated list of integers ("" is the empty list). */
export function intListFlag(flag: string): (value: string) => number[] {
  const one = intFlag(flag);
  return (value) => (value.trim() === "" ? [] : value.split(",").map((s) => one(s.trim())));
}

/**
 * The message of a library error with every quoted option name of `command` ('maxTokens') replaced
 * by its flag (--max-tokens), so a CLI user reads the flag they typed.
 */
export function optionsAsFlags(message: string, command: Command | undefined): string {
  if (!command) return message;
  let out = message;
  for (const o of command.options) {
    if (!o.long) continue;
    out = out.split(`'${o.attributeName()}'`).join(o.long);
  }
  return out;
}

/** Parser for a flag whose value is one of `choices`. */
export function choiceFlag<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) throw new Error(`${flag} must be one of ${choices.join(", ")}, got '${value}'`);
    return value as T;
  };
}
