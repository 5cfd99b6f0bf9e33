// When the compact output is coloured: `always` and `never` are what they say (a flag beats NO_COLOR);
// `auto` colours a TTY unless NO_COLOR is set to anything non-empty (no-color.org) or TERM is dumb.

export const COLOR_MODES = ['auto', 'always', 'never'] as const;
export type ColorMode = (typeof COLOR_MODES)[number];

export function useColor(
  mode: ColorMode,
  stream: { readonly isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  if (mode !== 'auto') return mode === 'always';
  return stream.isTTY === true && !env['NO_COLOR'] && env['TERM'] !== 'dumb';
}
