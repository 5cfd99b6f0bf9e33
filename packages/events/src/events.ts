import type { Process } from './process.js';
import type { ProcessKprobe, ProcessLsm, ProcessTracepoint } from './policy-events.js';

export interface ProcessExec {
  process: Process;
  parent?: Process;
  ancestors?: Process[];
}

export interface ProcessExit {
  process: Process;
  parent?: Process;
  ancestors?: Process[];
  /** Name of the terminating signal (e.g. "SIGKILL"); absent when the process exited normally. */
  signal?: string;
  status: number;
  time: string;
}

interface Envelope {
  node_name: string;
  time: string;
}

export interface ProcessExecEvent extends Envelope {
  process_exec: ProcessExec;
}

export interface ProcessExitEvent extends Envelope {
  process_exit: ProcessExit;
}

export interface ProcessKprobeEvent extends Envelope {
  process_kprobe: ProcessKprobe;
}

export interface ProcessTracepointEvent extends Envelope {
  process_tracepoint: ProcessTracepoint;
}

export interface ProcessLsmEvent extends Envelope {
  process_lsm: ProcessLsm;
}

export type PolicyEvent = ProcessKprobeEvent | ProcessTracepointEvent | ProcessLsmEvent;
export type PeregrineEvent = ProcessExecEvent | ProcessExitEvent | PolicyEvent;

export const EVENT_TYPES = ['process_exec', 'process_exit', 'process_kprobe', 'process_tracepoint', 'process_lsm'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function eventType(ev: PeregrineEvent): EventType {
  if ('process_exec' in ev) return 'process_exec';
  if ('process_exit' in ev) return 'process_exit';
  if ('process_kprobe' in ev) return 'process_kprobe';
  if ('process_lsm' in ev) return 'process_lsm';
  return 'process_tracepoint';
}

/** The body of an event (the object under its type key). */
export function eventBody(ev: PeregrineEvent): { process: Process; parent?: Process } {
  if ('process_exec' in ev) return ev.process_exec;
  if ('process_exit' in ev) return ev.process_exit;
  if ('process_kprobe' in ev) return ev.process_kprobe;
  if ('process_lsm' in ev) return ev.process_lsm;
  return ev.process_tracepoint;
}

/** The process an event is about. */
export function eventProcess(ev: PeregrineEvent): Process {
  return eventBody(ev).process;
}
