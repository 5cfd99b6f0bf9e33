// Options of the `compact` sink: human-readable lines on the agent's stdout (or stderr).

import { z } from 'zod';
import { COLOR_MODES } from './color.js';

export const COMPACT_SINK_DEFAULTS = {
  target: 'stdout',
  color: 'auto',
  max_buffer_bytes: 1024 * 1024,
  flush_timeout_ms: 1000,
} as const;

export const compactSinkSchema = z.strictObject({
  target: z.enum(['stdout', 'stderr']).default(COMPACT_SINK_DEFAULTS.target).describe('Stream the lines go to.'),
  color: z
    .enum(COLOR_MODES)
    .default(COMPACT_SINK_DEFAULTS.color)
    .describe('auto colours a terminal unless NO_COLOR is set or TERM=dumb.'),
  max_buffer_bytes: z
    .int()
    .min(1)
    .default(COMPACT_SINK_DEFAULTS.max_buffer_bytes)
    .describe('Lines still waiting for a slow terminal beyond this are dropped (and counted), never waited for.'),
  flush_timeout_ms: z
    .int()
    .min(0)
    .default(COMPACT_SINK_DEFAULTS.flush_timeout_ms)
    .describe('How long flush() and stop() wait for the stream to drain.'),
});

export type CompactSinkConfig = z.output<typeof compactSinkSchema>;
