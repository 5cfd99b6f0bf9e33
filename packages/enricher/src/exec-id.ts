// exec_id: Tetragon's GetProcessID (pkg/process/process_id_linux.go) — standard base64 of
// "<node>:<ktime>:<pid>", where ktime is the image's start time in ns and pid its tgid.

export function execId(nodeName: string, ktime: bigint, pid: number): string {
  return Buffer.from(`${nodeName}:${ktime}:${pid}`).toString('base64');
}
