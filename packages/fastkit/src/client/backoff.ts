/**
 * How long to wait before reconnect attempt number `attempt` (0 for the first retry): exponential
 * growth from `initialMs` up to `maxMs`, with "equal jitter" (a random half of the step is added to a
 * fixed half), so a thousand clients cut off by one restart do not all come back in the same second.
 */
export interface BackoffOptions {
  /** The first delay, before jitter. Default 500. */
  readonly initialMs?: number
  /** The largest delay. Default 15 000. */
  readonly maxMs?: number
  /** Growth per attempt. Default 2. */
  readonly factor?: number
}

/**
 * The reconnect delay for `attempt` (0-based), in milliseconds, between half of and the full
 * exponential step.
 *
 * @example
 * ```ts
 * backoffDelay(0) // 250..500
 * backoffDelay(5, { initialMs: 100, maxMs: 2_000 }) // 1000..2000
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 500
  const max = options.maxMs ?? 15_000
  const step = Math.min(max, initial * (options.factor ?? 2) ** Math.max(0, attempt))
  return Math.round(step / 2 + random() * (step / 2))
}
