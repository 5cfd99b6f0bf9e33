// The agent's own messages go to stderr; stdout carries only events (the compact lines).
export function log(msg: string): void {
  process.stderr.write(`peregrine: ${msg}\n`);
}
