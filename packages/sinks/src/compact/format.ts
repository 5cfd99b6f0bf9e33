// One terminal line per event, as `tetra getevents -o compact` prints them:
//   🚀 process <node> <binary> <arguments>
//   💥 exit    <node> <binary> <arguments> <status|SIGNAL>
// with 🛑 CAP_SYS_ADMIN appended when the process holds it. Colours: event type blue, node green, binary
// magenta, arguments cyan, exit status red. Binaries and arguments come from whatever ran on the host, so
// control and bidi characters are shown escaped: they cannot break the line or drive the terminal.

import pc from 'picocolors';
import { eventType, type EventType, type PeregrineEvent, type Process } from '@peregrine/events';

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
};

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
