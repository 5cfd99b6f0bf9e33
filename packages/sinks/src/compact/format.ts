// One terminal line per event, as `tetra getevents -o compact` prints them:
//   🚀 process <node> <binary> <arguments>
//   💥 exit    <node> <binary> <arguments> <status|SIGNAL>
// with 🛑 CAP_SYS_ADMIN appended when the process holds it. Colours: event type blue, node green, binary
// magenta, arguments cyan, exit status red. Binaries and arguments come from whatever ran on the host, so
// control and bidi characters are shown escaped: they cannot break the line or drive the terminal.

import pc from 'picocolors';
import { eventType, type EventType, type KprobeArgument, type PeregrineEvent, type Process } from '@peregrine/events';

type Colors = ReturnType<typeof pc.createColors>;
type EventOf<K extends EventType> = Extract<PeregrineEvent, Record<K, unknown>>;

const COLORS: Colors = pc.createColors(true);
const PLAIN: Colors = pc.createColors(false);

export interface CompactFormatOptions {
  color: boolean;
}

const FORMATTERS: { [K in EventType]: (event: EventOf<K>, c: Colors) => string } = {
  process_exec: (ev, c) => line(c, '🚀 process', ev.node_name, ev.process_exec.process),
  process_exit: (ev, c) => {
    const { process, signal, status } = ev.process_exit;
    return line(c, '💥 exit   ', ev.node_name, process, c.red(signal ? printable(signal) : String(status)));
  },
  process_kprobe: (ev, c) => policyLine(c, ev.node_name, ev.process_kprobe.function_name, ev.process_kprobe),
  process_lsm: (ev, c) => policyLine(c, ev.node_name, ev.process_lsm.function_name, ev.process_lsm),
  process_tracepoint: (ev, c) =>
    policyLine(c, ev.node_name, `${ev.process_tracepoint.subsys}/${ev.process_tracepoint.event}`, ev.process_tracepoint),
};

/** Per-hook emoji as tetra prints them; other hooks get a generic one. */
function emoji(fn: string): string {
  if (/connect/.test(fn)) return '🔌';
  if (/open|file_permission/.test(fn)) return '📬';
  if (/write/.test(fn)) return '📝';
  if (/read/.test(fn)) return '📚';
  if (/set[ug]id|capset|cred/.test(fn)) return '🔑';
  if (/bprm|exec/.test(fn)) return '🚀';
  if (/mount/.test(fn)) return '💾';
  return '🔎';
}

/** Bytes of a char_buf shown in a line; the rest is summarised as …(N bytes). */
const BYTES_PREVIEW = 64;
const BYTE_NAMES: Readonly<Record<number, string>> = { 0: '\\0', 9: '\\t', 10: '\\n', 13: '\\r', 0x5c: '\\\\' };

/**
 * A char_buf (base64 in the event) as readable text: printable ASCII as is, other bytes escaped (\0, \n,
 * \xff…; a backslash doubled), the first BYTES_PREVIEW bytes, then …(N bytes) with the buffer's full
 * length when more was read or the buffer was cut (origSize).
 */
function bytesPreview(base64: string, origSize?: string): string {
  const b = Buffer.from(base64, 'base64');
  let s = '';
  for (const x of b.subarray(0, BYTES_PREVIEW)) {
    s += BYTE_NAMES[x] ?? (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : `\\x${x.toString(16).padStart(2, '0')}`);
  }
  if (origSize !== undefined || b.length > BYTES_PREVIEW) s += `…(${origSize ?? b.length} bytes)`;
  return s;
}

function argText(a: KprobeArgument): string {
  if ('string_arg' in a) return a.string_arg;
  if ('bytes_arg' in a) return bytesPreview(a.bytes_arg);
  if ('truncated_bytes_arg' in a) return bytesPreview(a.truncated_bytes_arg.bytes_arg, a.truncated_bytes_arg.orig_size);
  if ('int_arg' in a) return String(a.int_arg);
  if ('long_arg' in a) return a.long_arg;
  if ('size_arg' in a) return a.size_arg;
  if ('file_arg' in a) return a.file_arg.path;
  if ('path_arg' in a) return a.path_arg.path;
  if ('linux_binprm_arg' in a) return a.linux_binprm_arg.path;
  if ('sockaddr_arg' in a) return `${a.sockaddr_arg.addr}:${a.sockaddr_arg.port}`;
  if ('sock_arg' in a) return `${a.sock_arg.protocol} ${a.sock_arg.daddr}:${a.sock_arg.dport}`;
  if ('process_credentials_arg' in a) {
    const c = a.process_credentials_arg;
    return 'uid' in c ? `uid=${c.uid} euid=${c.euid} gid=${c.gid} egid=${c.egid}` : '';
  }
  return a.capability_arg.name;
}

function policyLine(
  c: Colors,
  node: string,
  fn: string,
  body: { process: Process; args: KprobeArgument[]; action: string; policy_name: string; policy_mode?: string },
): string {
  const verb = fn.replace(/^(__x64_|__arm64_)?sys_/, '').padEnd(8);
  const args = body.args.map(argText).join(' ');
  const action = body.action.replace('KPROBE_ACTION_', '').toLowerCase();
  const tail = `${c.yellow(`[${body.policy_name}: ${action}${body.policy_mode === 'monitor' ? ' (monitor)' : ''}]`)}`;
  return `${c.blue(`${emoji(fn)} ${printable(verb)}`)} ${c.green(printable(node))} ${c.magenta(printable(body.process.binary))} ${c.cyan(printable(args))} ${tail}`;
}

export function formatCompact(event: PeregrineEvent, options: CompactFormatOptions): string {
  const format = FORMATTERS[eventType(event)] as (event: PeregrineEvent, c: Colors) => string;
  return format(event, options.color ? COLORS : PLAIN);
}

function line(c: Colors, head: string, node: string, p: Process, status?: string): string {
  let s = `${c.blue(head)} ${c.green(printable(node))} ${c.magenta(printable(p.binary))}`;
  if (p.arguments !== '') s += ` ${c.cyan(printable(p.arguments))}`;
  if (status !== undefined) s += ` ${status}`;
  if (p.cap?.effective.includes('CAP_SYS_ADMIN')) s += ` ${c.magenta('🛑 CAP_SYS_ADMIN')}`;
  return s;
}

// C0 and C1 controls, DEL, and the bidi overrides/isolates ("trojan source").
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'g');
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

function printable(s: string): string {
  if (!UNPRINTABLE.test(s)) return s;
  return s.replace(UNPRINTABLE_ALL, (ch) => {
    const code = ch.charCodeAt(0);
    return NAMED[ch] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`);
  });
}
