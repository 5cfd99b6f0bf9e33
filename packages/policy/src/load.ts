// Reading policies from YAML text, files and directories (multi-document files too).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigError, type ConfigIssue } from '@peregrine/events';
import { renderPath } from './path.js';
import { TracingPolicy } from './schema.js';
import { validatePolicy } from './validate.js';

export class PolicyError extends ConfigError {
  override readonly name = 'PolicyError';
}

/** Every policy in a YAML text; throws one PolicyError listing every problem of every document. */
export function parsePolicies(text: string, source: string): TracingPolicy[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, strict: true });
  const issues: ConfigIssue[] = [];
  const out: TracingPolicy[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  const multi = list.length > 1;
  list.forEach((doc, di) => {
    const at = (p: string): string => (multi ? `document ${di + 1}: ${p}` : p);
    if (doc.errors.length > 0) {
      for (const e of doc.errors) issues.push({ path: at(''), message: `not valid YAML: ${e.message.split('\n')[0]}` });
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing ---)
    const r = TracingPolicy.safeParse(value);
    if (!r.success) {
      for (const i of r.error.issues) {
        if (i.code === 'unrecognized_keys') {
          for (const k of i.keys) issues.push({ path: at(renderPath([...i.path, k])), message: 'unknown or unsupported field' });
        } else issues.push({ path: at(renderPath(i.path)), message: i.message });
      }
      return;
    }
    const more = validatePolicy(r.data);
    if (more.length > 0) {
      issues.push(...more.map((m) => ({ path: at(m.path), message: m.message })));
      return;
    }
    out.push(r.data);
  });
  if (issues.length > 0) throw new PolicyError(`policy ${source}`, issues);
  if (out.length === 0) throw new PolicyError(`policy ${source}`, [{ path: '', message: 'no policy in this file' }]);
  const names = out.map((p) => p.metadata.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new PolicyError(`policy ${source}`, [{ path: 'metadata.name', message: `two policies are named '${dup}'` }]);
  return out;
}

export function loadPolicyFile(path: string): TracingPolicy[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PolicyError(`policy file ${path}`, [{ path: '', message: (e as Error).message }], { cause: e });
  }
  return parsePolicies(text, path);
}

/** Every *.yaml / *.yml file of a directory, in name order. */
export function loadPolicyDir(dir: string): TracingPolicy[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (e) {
    throw new PolicyError(`policy directory ${dir}`, [{ path: '', message: (e as Error).message }], { cause: e });
  }
  return names.filter((n) => statSync(join(dir, n)).isFile()).flatMap((n) => loadPolicyFile(join(dir, n)));
}

export function policyMode(p: TracingPolicy): 'enforce' | 'monitor' {
  return p.spec.options?.find((o) => o.name === 'policy-mode')?.value ?? 'enforce';
}
