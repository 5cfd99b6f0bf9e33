import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';

/** Every issue of a failed zod parse, with its dotted path, as ConfigIssues. */
export function zodIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.'),
    message: i.message,
  }));
}

/** Parse or throw a ConfigError naming every bad field. */
export function parseConfig<T extends z.ZodType>(schema: T, value: unknown, source: string, prefix = ''): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(source, zodIssues(r.error, prefix));
  return r.data;
}
