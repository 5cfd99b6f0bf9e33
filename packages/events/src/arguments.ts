// Tetragon renders argv[1..] as one string. We quote so the rendering is reversible: an argument that is
// empty or contains whitespace, a double quote or a backslash is wrapped in double quotes with " and \
// escaped by a backslash. splitArguments(joinArguments(a)) === a for every array of strings.

const NEEDS_QUOTES = /[\s"\\]/;

export function joinArguments(args: readonly string[]): string {
  return args.map((a) => (a === '' || NEEDS_QUOTES.test(a) ? `"${a.replace(/["\\]/g, '\\$&')}"` : a)).join(' ');
}

export function splitArguments(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ') {
      i++;
      continue;
    }
    if (s[i] === '"') {
      let cur = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        cur += s[i];
        i++;
      }
      i++; // closing quote
      out.push(cur);
    } else {
      const end = s.indexOf(' ', i);
      const stop = end === -1 ? s.length : end;
      out.push(s.slice(i, stop));
      i = stop;
    }
  }
  return out;
}
