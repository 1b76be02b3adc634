/**
 * Compatibility barrel: lib/tensor was split into lib/numerics (how: moments, factorizations,
 * solves) and lib/metrics (what: scores, norms, cosines). The committed notebooks import
 * `../dist/lib/tensor`; new code imports `../dist/lib` (or lib/metrics, lib/numerics).
 * @deprecated import from lib/metrics or lib/numerics (or the package root) instead.
 */
export * from "../metrics";
export * from "../numerics";
