import type { Process } from './process.js';

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

export type PeregrineEvent = ProcessExecEvent | ProcessExitEvent;

export const EVENT_TYPES = ['process_exec', 'process_exit'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function eventType(ev: PeregrineEvent): EventType {
  return 'process_exec' in ev ? 'process_exec' : 'process_exit';
}

/** The process an event is about. */
export function eventProcess(ev: PeregrineEvent): Process {
  return 'process_exec' in ev ? ev.process_exec.process : ev.process_exit.process;
}
