/** Edit distance (Damerau-free Levenshtein), small inputs only. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest known name, if it is close enough to be a likely typo. */
export function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(name.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/** "did you mean 'x'?" or a list of what is allowed. */
export function didYouMean(name: string, known: Iterable<string>, what = 'one of'): string {
  const list = [...known];
  const guess = closest(name, list);
  if (guess) return `did you mean '${guess}'?`;
  return list.length <= 12 ? `expected ${what}: ${list.sort().join(', ')}` : `see the README for the supported ${what === 'one of' ? 'names' : what}`;
}
