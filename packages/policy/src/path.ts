/** Renders a path like spec.kprobes[0].selectors[1].matchArgs[0] from its segments. */
export function renderPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? String(s) : `.${String(s)}`;
  }
  return out;
}
