import { InputError, type InputLocation } from "./errors.js";

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** One hour in milliseconds: validities are counted in hours, as in cfssl and kubeadm. */
export const HOUR_MS = 3_600_000;

/**
 * Parses a Go duration string as cfssl's `expiry` and kubeadm's validity fields take it
 * (`8760h`, `1h30m`, `90s`; no day or year units), into milliseconds.
 */
export function parseDuration(text: string, where: InputLocation = {}): number {
  const s = text.trim();
  const bad = () => new InputError('invalid duration, expected Go syntax such as "8760h" or "1h30m"', { ...where, value: text });
  if (s === "0") return 0;
  if (s === "") throw bad();
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== start) throw bad();
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Math.round(total);
}

/** Formats milliseconds as a Go duration that {@link parseDuration} and cfssl read back: `8760h`, `1h30m`, `90s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ["h", HOUR_MS],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join("");
}

/** kubeadm's residual-time style: `364d`, `9y`, `23h`, `<invalid>` when past. */
export function formatResidual(ms: number): string {
  if (ms <= 0) return "<invalid>";
  const h = ms / HOUR_MS;
  if (h < 48) return `${Math.floor(h)}h`;
  const d = Math.floor(h / 24);
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}
