// Cross-field checks zod's shape cannot express: an operator must fit the argument it filters, every
// value must parse for its operator, actions must be coherent. Each problem names its path.
import type { ConfigIssue } from '@peregrine/events';
import { opsFor, SOCK_OPS, type ArgType } from './arg-types.js';
import { LSM_HOOKS } from './lsm-hooks.js';
import { renderPath } from './path.js';
import type { ArgSpec, Selector, TracingPolicy } from './schema.js';
import { parseCidr, parseFamily, parseIntValue, parsePort, parseProtocol, parseRange } from './values.js';

type Hook = { args: ArgSpec[]; selectors?: Selector[] | undefined };

const ADDR_OPS = new Set(['SAddr', 'NotSAddr', 'DAddr', 'NotDAddr']);
const PORT_OPS = new Set(['SPort', 'NotSPort', 'DPort', 'NotDPort']);
const PRIV_OPS = new Set(['SPortPriv', 'NotSPortPriv', 'DPortPriv', 'NotDPortPriv']);
const RANGE_OPS = new Set(['InRange', 'NotInRange']);

function checkValue(type: ArgType, op: string, v: string): string | null {
  if (ADDR_OPS.has(op)) {
    const c = parseCidr(v);
    return typeof c === 'string' ? c : null;
  }
  if (PORT_OPS.has(op)) return parsePort(v) === null ? `invalid port '${v}' (0..65535)` : null;
  if (op === 'Protocol') return parseProtocol(v) === null ? `invalid protocol '${v}' (IPPROTO_TCP, IPPROTO_UDP or a number)` : null;
  if (op === 'Family') return parseFamily(v) === null ? `invalid family '${v}' (AF_INET, AF_INET6 or a number)` : null;
  if (RANGE_OPS.has(op)) return parseRange(v) === null ? `invalid range '${v}' (expected "low:high")` : null;
  if (opsFor(type) === opsFor('int')) return parseIntValue(v) === null ? `'${v}' is not an integer` : null;
  if (v.length > 4096) return `value longer than 4096 bytes`;
  return null;
}

function checkSelectors(hook: Hook, base: PropertyKey[], kind: 'kprobe' | 'tracepoint' | 'lsm', issues: ConfigIssue[]): void {
  const add = (path: PropertyKey[], message: string): void => void issues.push({ path: renderPath(path), message });
  const argByIndex = new Map<number, ArgSpec>();
  hook.args.forEach((a, i) => {
    if (argByIndex.has(a.index)) add([...base, 'args', i, 'index'], `argument index ${a.index} is declared twice`);
    argByIndex.set(a.index, a);
    if (a.type === 'char_buf' && a.sizeArgIndex === undefined && !a.returnCopy) {
      add([...base, 'args', i, 'sizeArgIndex'], 'char_buf needs sizeArgIndex (the argument holding its length, counted from 1)');
    }
  });
  (hook.selectors ?? []).forEach((sel, si) => {
    const sp = [...base, 'selectors', si];
    (sel.matchArgs ?? []).forEach((m, mi) => {
      const mp = [...sp, 'matchArgs', mi];
      const arg = argByIndex.get(m.index);
      if (!arg) {
        add([...mp, 'index'], `no argument with index ${m.index} is declared in args`);
        return;
      }
      if (!opsFor(arg.type).includes(m.operator)) {
        add([...mp, 'operator'], `operator ${m.operator} does not apply to argument type ${arg.type} (use one of ${opsFor(arg.type).join(', ')})`);
        return;
      }
      if (PRIV_OPS.has(m.operator)) {
        if (m.values.length > 0) add([...mp, 'values'], `${m.operator} takes no values`);
        return;
      }
      if (m.values.length === 0) add([...mp, 'values'], 'at least one value is required');
      m.values.forEach((v, vi) => {
        const err = checkValue(arg.type, m.operator, v);
        if (err) add([...mp, 'values', vi], err);
      });
    });
    for (const key of ['matchBinaries', 'matchParentBinaries'] as const) {
      (sel[key] ?? []).forEach((b, bi) => {
        b.values.forEach((v, vi) => {
          if ((b.operator === 'In' || b.operator === 'NotIn' || b.operator === 'Prefix' || b.operator === 'NotPrefix') && !v.startsWith('/')) {
            add([...sp, key, bi, 'values', vi], `'${v}' is not an absolute path`);
          }
        });
      });
    }
    const actions = sel.matchActions ?? [];
    const names = actions.map((a) => a.action);
    if (names.includes('Post') && names.includes('NoPost')) add([...sp, 'matchActions'], 'Post and NoPost contradict each other');
    actions.forEach((a, ai) => {
      const ap = [...sp, 'matchActions', ai];
      if (a.action === 'Override' && a.argError === undefined) add([...ap, 'argError'], 'Override needs argError (a negative errno, e.g. -1 for EPERM)');
      if (a.action !== 'Override' && a.argError !== undefined) add([...ap, 'argError'], `argError only applies to Override`);
      if (a.action === 'Signal' && a.argSig === undefined) add([...ap, 'argSig'], 'Signal needs argSig (a signal number)');
      if (a.action !== 'Signal' && a.argSig !== undefined) add([...ap, 'argSig'], 'argSig only applies to Signal');
      if (a.action !== 'Post' && (a.rateLimit !== undefined || a.rateLimitScope !== undefined)) {
        add([...ap, 'rateLimit'], 'rateLimit only applies to Post');
      }
      if (a.action === 'Override' && kind === 'tracepoint') {
        add([...ap, 'action'], 'Override cannot prevent a tracepoint (tracepoints only observe): use an lsmhooks entry, or Sigkill');
      }
    });
  });
  void SOCK_OPS;
}

/** Checks a schema-valid policy; returns every problem found. */
export function validatePolicy(p: TracingPolicy): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const s = p.spec;
  if (p.kind === 'TracingPolicyNamespaced' && !p.metadata.namespace) {
    issues.push({ path: 'metadata.namespace', message: 'a TracingPolicyNamespaced needs metadata.namespace' });
  }
  if (!s.kprobes?.length && !s.tracepoints?.length && !s.lsmhooks?.length) {
    issues.push({ path: 'spec', message: 'the policy declares no hook (kprobes, tracepoints or lsmhooks)' });
  }
  const optionNames = (s.options ?? []).map((o) => o.name);
  if (new Set(optionNames).size !== optionNames.length) issues.push({ path: 'spec.options', message: 'an option is given twice' });
  (s.kprobes ?? []).forEach((k, i) => checkSelectors(k, ['spec', 'kprobes', i], 'kprobe', issues));
  (s.tracepoints ?? []).forEach((t, i) => checkSelectors(t, ['spec', 'tracepoints', i], 'tracepoint', issues));
  (s.lsmhooks ?? []).forEach((h, i) => {
    if (!LSM_HOOKS.has(h.hook)) issues.push({ path: renderPath(['spec', 'lsmhooks', i, 'hook']), message: `unknown LSM hook '${h.hook}'` });
    checkSelectors(h, ['spec', 'lsmhooks', i], 'lsm', issues);
  });
  return issues;
}
