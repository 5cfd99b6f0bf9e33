// A scriptable stand-in for an Elasticsearch node on loopback, for the sink's unit tests: just enough of
// GET /, _cluster/health, _data_stream, _index_template and _bulk (create with _id, 409 on a second create).
// Real-server behaviour is covered by test/integration/elasticsearch.test.ts.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BulkOp {
  index: string;
  id: string;
  source: Record<string, unknown>;
}

/** A per-item answer the script forces; undefined = behave normally. */
export type ItemOverride = { status: number; error?: { type: string; reason: string } } | undefined;

export class FakeEs {
  readonly docs = new Map<string, Record<string, unknown>>();
  readonly templates = new Map<string, Record<string, unknown>>();
  readonly bulkBodies: BulkOp[][] = [];
  /** Answer GET _data_stream/<name> as a node with data streams (404 index_not_found) or without (400). */
  dataStreams = false;
  /** Answer every request but GET / with this status (401, 503…). */
  failAll: number | undefined;
  /** Answer the next n _bulk requests with this status. */
  failBulk: { status: number; times: number } | undefined;
  /** Hold every _bulk answer this long (to observe concurrent requests). */
  bulkDelayMs = 0;
  /** _bulk requests being answered now, and the most there ever were at once. */
  bulkInFlight = 0;
  maxBulkInFlight = 0;
  /** Called per item of every _bulk: force an answer. */
  onItem: (op: BulkOp, attempt: number) => ItemOverride = () => undefined;
  readonly #attempts = new Map<string, number>();
  #server: Server | undefined;
  #port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** How many times a document id was sent. */
  attempts(id: string): number {
    return this.#attempts.get(id) ?? 0;
  }

  async listen(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (s === undefined) return;
    this.#server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, json: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end(JSON.stringify(json));
    };
    if (this.failAll !== undefined) {
      return send(this.failAll, { error: { type: 'security_exception', reason: 'missing authentication credentials' }, status: this.failAll });
    }
    if (req.method === 'GET' && path === '/') return send(200, { name: 'fake', version: { number: '8.19.10' }, tagline: 'You Know, for Search' });
    if (path === '/_cluster/health') return send(200, { status: 'yellow' });
    if (path.startsWith('/_data_stream/')) {
      return this.dataStreams
        ? send(404, { error: { type: 'index_not_found_exception', reason: 'no such index' }, status: 404 })
        : send(405, { error: 'Incorrect HTTP method for uri [/_data_stream/x] and method [GET], allowed: [POST]', status: 405 });
    }
    if (req.method === 'PUT' && path.startsWith('/_index_template/')) {
      this.templates.set(decodeURIComponent(path.slice('/_index_template/'.length)), JSON.parse(body) as Record<string, unknown>);
      return send(200, { acknowledged: true });
    }
    if (req.method === 'POST' && path === '/_bulk') {
      this.bulkInFlight++;
      this.maxBulkInFlight = Math.max(this.maxBulkInFlight, this.bulkInFlight);
      try {
        if (this.bulkDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.bulkDelayMs));
        return this.#bulk(body, send);
      } finally {
        this.bulkInFlight--;
      }
    }
    send(404, { error: { type: 'not_found', reason: `${req.method} ${path}` }, status: 404 });
  }

  #bulk(body: string, send: (status: number, json: unknown) => void): void {
    if (this.failBulk !== undefined && this.failBulk.times > 0) {
      this.failBulk.times--;
      return send(this.failBulk.status, { error: { type: 'unavailable', reason: 'try later' }, status: this.failBulk.status });
    }
    const lines = body.split('\n').filter((l) => l !== '');
    const ops: BulkOp[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const action = (JSON.parse(lines[i] as string) as { create: { _index: string; _id: string } }).create;
      ops.push({ index: action._index, id: action._id, source: JSON.parse(lines[i + 1] as string) as Record<string, unknown> });
    }
    this.bulkBodies.push(ops);
    let errors = false;
    const items = ops.map((op) => {
      const attempt = (this.#attempts.get(op.id) ?? 0) + 1;
      this.#attempts.set(op.id, attempt);
      const forced = this.onItem(op, attempt);
      const key = `${op.index}/${op.id}`;
      let answer: Record<string, unknown>;
      if (forced !== undefined) answer = { status: forced.status, ...(forced.error ? { error: forced.error } : {}) };
      else if (this.docs.has(key)) {
        answer = { status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${op.id}]: version conflict, document already exists` } };
      } else {
        this.docs.set(key, op.source);
        answer = { status: 201, result: 'created' };
      }
      if ((answer['status'] as number) >= 300) errors = true;
      return { create: { _index: op.index, _id: op.id, ...answer } };
    });
    send(200, { took: 1, errors, items });
  }
}
