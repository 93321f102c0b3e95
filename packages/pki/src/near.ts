/**
 * The "did you mean" of a mistyped name (`explain etdc`, `certs renew apiservr`): the closest candidate by edit
 * distance (insertions, deletions, substitutions and swaps of two neighbours), when it is close enough to be the
 * name meant: at most a third of its length, as git and cobra suggest.
 */
export function nearestName(value: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    const d = distance(value.toLowerCase(), name.toLowerCase());
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d > 0 && best.d <= Math.max(1, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

/** Damerau-Levenshtein distance (optimal string alignment): a swap of two neighbours counts as one. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}
