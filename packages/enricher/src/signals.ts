// Signal numbers → names ("SIGKILL"), from the running platform's table (Tetragon: unix.SignalName).

import { constants } from 'node:os';

const NAMES = new Map<number, string>();
for (const [name, num] of Object.entries(constants.signals)) {
  if (!NAMES.has(num)) NAMES.set(num, name); // first alias wins: SIGABRT over SIGIOT, SIGIO over SIGPOLL
}

/** "" for 0 (no signal); `SIG<n>` for numbers the table lacks (real-time signals). */
export function signalName(signal: number): string {
  if (signal === 0) return '';
  return NAMES.get(signal) ?? `SIG${signal}`;
}
