// Options of the `file` sink: JSON lines, rotated by rename like logrotate (path → path.1 → … → path.N).

import { z } from 'zod';

const MiB = 1024 * 1024;

/** The documented defaults; the schema fills in the same values. `path` must still be given explicitly. */
export const FILE_SINK_DEFAULTS = {
  path: '/var/log/peregrine/peregrine.log', // like Tetragon's helm /var/log/tetragon/tetragon.log
  max_size_bytes: 10 * MiB,
  max_backups: 5,
  compress: false,
  file_mode: 0o600,
} as const;

export const fileSinkSchema = z.strictObject({
  path: z.string().min(1).describe('File the events are appended to, one JSON object per line; its directory is created (0700) if missing.'),
  max_size_bytes: z
    .int()
    .min(0)
    .default(FILE_SINK_DEFAULTS.max_size_bytes)
    .describe('Rotate before a line would take the file past this size; 0 never rotates. A single longer line gets a file of its own.'),
  max_backups: z
    .int()
    .min(0)
    .default(FILE_SINK_DEFAULTS.max_backups)
    .describe('Rotated files kept (path.1 is the newest); older ones are deleted. 0 keeps none.'),
  compress: z.boolean().default(FILE_SINK_DEFAULTS.compress).describe('Gzip rotated files (path.1.gz) in the background.'),
  file_mode: z
    .int()
    .min(0)
    .max(0o777)
    .refine((m) => (m & 0o600) === 0o600, 'must give the owner read and write (0o600)')
    .default(FILE_SINK_DEFAULTS.file_mode)
    .describe('Permission bits of every file written, whatever the umask (YAML: 0o600).'),
});

export type FileSinkConfig = z.output<typeof fileSinkSchema>;
