// Typed errors shared by every stage: a stable string code, a message for humans, and the cause.

export class PeregrineError extends Error {
  override readonly name: string = 'PeregrineError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** One problem in a configuration: the dotted path of the offending field and why. */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends PeregrineError {
  override readonly name: string = 'ConfigError';
  readonly issues: ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[], options?: { cause?: unknown }) {
    super('ERR_CONFIG', `invalid ${source}:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`, options);
    this.issues = issues;
  }
}

export class DecodeError extends PeregrineError {
  override readonly name = 'DecodeError';
  readonly opcode: number;
  readonly kind: 'unknown_opcode' | 'bad_size' | 'bad_record';

  constructor(kind: DecodeError['kind'], opcode: number, message: string) {
    super('ERR_DECODE', message);
    this.kind = kind;
    this.opcode = opcode;
  }
}

export class SinkError extends PeregrineError {
  override readonly name = 'SinkError';
  readonly retryable: boolean;

  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super('ERR_SINK', message, options);
    this.retryable = retryable;
  }
}
