/*
 * A context key the app does not read is a setting the user believes applied and did not: `-c region=us-west-2`
 * (meant: regions) used to deploy to the default regions without a word. Such keys stop synth, with a suggestion.
 */

/** Keys that CDK itself and its CLI put in the context: feature flags, lookups, CLI settings. */
function belongsToCdk(key: string): boolean {
  return key.includes(':') || key === 'acknowledged-issue-numbers' || key === 'cli-telemetry';
}

/** Problems for keys outside `known`, each naming the closest known key when one is near. */
export function unknownContextKeys(context: Readonly<Record<string, unknown>>, known: readonly string[]): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(context)) {
    if (known.includes(key) || belongsToCdk(key)) continue;
    const suggestion = closestKey(key, known);
    problems.push(
      suggestion === undefined
        ? `unknown context key "${key}" (the README lists the keys this app reads)`
        : `unknown context key "${key}": did you mean "${suggestion}"?`,
    );
  }
  return problems;
}

/** The known key nearest to `key`, ignoring case: at most 2 edits away (a quarter of its length for long keys). */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const other = candidate.toLowerCase();
    const distance = other === lower ? 0 : other.startsWith(lower) || lower.startsWith(other) ? 1 : editDistance(lower, other);
    if (distance <= Math.max(2, Math.floor(key.length / 4)) && (best === undefined || distance < best.distance)) {
      best = { key: candidate, distance };
    }
  }
  return best?.key;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
