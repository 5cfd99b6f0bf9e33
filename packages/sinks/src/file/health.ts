// The file sink's healthcheck: can we create and append to the configured path?

import { constants } from 'node:fs';
import { access, lstat, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode, toSinkError } from '../errors.js';

/**
 * Resolves when `path` can be written: its directory (or, if missing, the nearest existing ancestor we
 * would create it in) is a writable directory, and an existing `path` is a writable regular file.
 */
export async function checkWritable(path: string): Promise<void> {
  let dir = dirname(path);
  try {
    for (;;) {
      try {
        const st = await stat(dir);
        if (!st.isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
        break;
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT' || dirname(dir) === dir) throw err;
        dir = dirname(dir);
      }
    }
    await access(dir, constants.W_OK | constants.X_OK);
    const file = await lstat(path).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (file !== undefined) {
      if (!file.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL' });
      await access(path, constants.W_OK);
    }
  } catch (err) {
    throw toSinkError(err, `file sink ${path} is not writable`);
  }
}
