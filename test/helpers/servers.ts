// Real servers for the sink integration tests (Kafka, Elasticsearch, an OpenTelemetry Collector, Redis),
// run on loopback by scripts/servers.sh. The tests run against them only with PEREGRINE_TEST_SERVERS=1
// (`eval "$(scripts/servers.sh env)"` sets it with every endpoint); otherwise they skip:
//
//   describe.skipIf(!serversEnabled())('kafka sink', () => {
//     beforeAll(() => requireServer('kafka'));
//     …new Kafka({ brokers: kafkaBrokers() })…
//   });
//
// Fault tests stop and restart a server through the same script (stopServer / startServer with
// keepData, so Kafka's log dir and Redis' AOF survive).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';

export type ServerName = 'kafka' | 'elasticsearch' | 'otelcol' | 'redis';
export const SERVER_NAMES: readonly ServerName[] = ['kafka', 'elasticsearch', 'otelcol', 'redis'];

export const SERVERS_SCRIPT = resolve(import.meta.dirname, '../../scripts/servers.sh');

const env = (name: string, fallback: string): string => {
  const v = process.env[name];
  return v !== undefined && v !== '' ? v : fallback;
};

/** True when the integration tests against real servers should run (PEREGRINE_TEST_SERVERS=1). */
export function serversEnabled(): boolean {
  return process.env.PEREGRINE_TEST_SERVERS === '1';
}

/** Directory of the servers' cache, data and logs (PEREGRINE_SERVERS_DIR, as in scripts/servers.sh). */
export function serversDir(): string {
  return env('PEREGRINE_SERVERS_DIR', '/opt/peregrine-test-servers');
}

/** Kafka bootstrap brokers, `host:port` each (PEREGRINE_KAFKA_BROKERS, comma-separated). */
export function kafkaBrokers(): string[] {
  return env('PEREGRINE_KAFKA_BROKERS', '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
}

/** Elasticsearch base URL (PEREGRINE_ES_URL). */
export function esUrl(): string {
  return env('PEREGRINE_ES_URL', 'http://127.0.0.1:9200');
}

/** Collector OTLP/HTTP base URL (PEREGRINE_OTLP_URL): POST `${otlpUrl()}/v1/logs`. */
export function otlpUrl(): string {
  return env('PEREGRINE_OTLP_URL', 'http://127.0.0.1:4318');
}

/**
 * The collector's output file (PEREGRINE_OTLP_FILE): one JSON object per exported request and line,
 * `{"resourceLogs":[…]}` (or resourceSpans / resourceMetrics), flushed every 100 ms. A fresh start of
 * the collector empties it. Never truncate it while the collector runs (it does not open the file in
 * append mode: the next write would land after a hole of NUL bytes): take otlpFileMark() before the
 * test and read with readOtlpFile(mark), or look for the test's own unique records.
 */
export function otlpFile(): string {
  return env('PEREGRINE_OTLP_FILE', join(serversDir(), 'otelcol/logs.jsonl'));
}

/** Current size of the collector's output file: pass it to readOtlpFile to read only what follows. */
export function otlpFileMark(): number {
  const f = otlpFile();
  return existsSync(f) ? statSync(f).size : 0;
}

/** The JSON objects the collector wrote from byte `from` on (complete lines only). */
export function readOtlpFile(from = 0): unknown[] {
  const f = otlpFile();
  if (!existsSync(f)) return [];
  const text = readFileSync(f).subarray(from).toString('utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  return text
    .slice(0, end)
    .split('\n')
    .map((line) => line.replace(/\0/g, '').trim())
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/** Redis URL (PEREGRINE_REDIS_URL), for ioredis / BullMQ connections. */
export function redisUrl(): string {
  return env('PEREGRINE_REDIS_URL', 'redis://127.0.0.1:6390');
}

/** host and port a server listens on, from the endpoint getters above. */
export function serverAddress(name: ServerName): { host: string; port: number } {
  let spec: string;
  let defaultPort: number;
  switch (name) {
    case 'kafka':
      spec = `tcp://${kafkaBrokers()[0] ?? '127.0.0.1:9092'}`;
      defaultPort = 9092;
      break;
    case 'elasticsearch':
      spec = esUrl();
      defaultPort = 9200;
      break;
    case 'otelcol':
      spec = otlpUrl();
      defaultPort = 4318;
      break;
    case 'redis':
      spec = redisUrl();
      defaultPort = 6379;
      break;
  }
  const url = new URL(spec);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : url.protocol === 'http:' ? 80 : defaultPort,
  };
}

/** Whether the server's port accepts a TCP connection within timeoutMs. */
export function isServerUp(name: ServerName, timeoutMs = 2_000): Promise<boolean> {
  const { host, port } = serverAddress(name);
  return new Promise((res) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      res(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * When the real-server tests are enabled, throws a clear error unless `name` answers on its port;
 * when they are disabled, does nothing (the suite is expected to skip with serversEnabled()).
 */
export async function requireServer(name: ServerName): Promise<void> {
  if (!serversEnabled()) return;
  if (await isServerUp(name)) return;
  const { host, port } = serverAddress(name);
  throw new Error(
    `${name} is not reachable at ${host}:${port}, but PEREGRINE_TEST_SERVERS=1 asks for the real-server tests. ` +
      `Start it with \`bash scripts/servers.sh start ${name}\` (status: \`bash scripts/servers.sh status\`, ` +
      `log: \`bash scripts/servers.sh logs ${name}\`), or unset PEREGRINE_TEST_SERVERS to skip these tests.`,
  );
}

export interface ScriptResult {
  stdout: string;
  stderr: string;
}

/** Runs `bash scripts/servers.sh ARGS…`; rejects with the script's output when it exits non-zero. */
export function runServersScript(args: string[], timeoutMs = 600_000): Promise<ScriptResult> {
  return new Promise((res, rej) => {
    execFile(
      'bash',
      [SERVERS_SCRIPT, ...args],
      { env: { ...process.env, NO_COLOR: '1' }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          rej(new Error(`scripts/servers.sh ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${stderr}${stdout}`));
        } else {
          res({ stdout, stderr });
        }
      },
    );
  });
}

/** Stops a server (SIGTERM: a clean shutdown; SIGKILL after the script's timeout). For fault tests. */
export async function stopServer(name: ServerName): Promise<void> {
  await runServersScript(['stop', name]);
}

export interface StartOptions {
  /** Keep the data of the previous run (Kafka's log dir, Redis' AOF, Elasticsearch's indices, the collector's file). */
  keepData?: boolean;
}

/** Starts a server and waits until it is usable; one already running is left as is. For fault tests. */
export async function startServer(name: ServerName, opts: StartOptions = {}): Promise<void> {
  await runServersScript(['start', ...(opts.keepData === true ? ['--keep-data'] : []), name]);
}

/** Stops then starts a server (keeping its data with keepData). */
export async function restartServer(name: ServerName, opts: StartOptions = {}): Promise<void> {
  await runServersScript(['restart', ...(opts.keepData === true ? ['--keep-data'] : []), name]);
}
