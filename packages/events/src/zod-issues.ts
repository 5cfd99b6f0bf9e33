import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';

/** Every issue of a failed zod parse, with its dotted path; an unknown key is named in its own path. */
export function zodIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  const join = (path: readonly PropertyKey[]): string =>
    [prefix, ...path.map(String)].filter((p) => p !== '').join('.');
  return error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: join([...i.path, k]), message: 'unknown field' }))
      : [{ path: join(i.path), message: i.message }],
  );
}

/** Parse or throw a ConfigError naming every bad field. */
export function parseConfig<T extends z.ZodType>(schema: T, value: unknown, source: string, prefix = ''): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(source, zodIssues(r.error, prefix));
  return r.data;
}
