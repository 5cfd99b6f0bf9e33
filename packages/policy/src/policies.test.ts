import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@peregrine/events';
import { parsePolicies, policyMode } from './load.js';
import { planPolicy, type Backend } from './plan.js';

const EXAMPLES = resolve(import.meta.dirname, '../../../examples/policies');

const head = (spec: string, kind = 'TracingPolicy', meta = 'name: p1'): string =>
  `apiVersion: cilium.io/v1alpha1\nkind: ${kind}\nmetadata:\n  ${meta}\nspec:\n${spec}${spec.endsWith('\n') ? '' : '\n'}`;
const lsm = (selectors: string, args = '    args: [{index: 0, type: linux_binprm}]\n', hook = 'bprm_check_security'): string =>
  head(`  lsmhooks:\n  - hook: ${hook}\n${args}    selectors:\n${selectors}`);
const kp = (body: string): string => head(`  kprobes:\n  - call: sys_openat\n    syscall: true\n${body}`);
const sockSel = (op: string, values: string): string =>
  lsm(`    - matchArgs: [{index: 1, operator: ${op}, values: ${values}}]\n`, '    args: [{index: 1, type: sockaddr}]\n', 'socket_connect');

function issuesOf(yaml: string): { path: string; message: string }[] {
  try {
    parsePolicies(yaml, 'test.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('policy was accepted');
}

// [description, yaml, expected path (substring), expected message (substring)]
const MALFORMED: [string, string, string, string][] = [
  ['wrong apiVersion', head('  lsmhooks: []').replace('cilium.io/v1alpha1', 'cilium.io/v1'), 'apiVersion', 'cilium.io/v1alpha1'],
  ['wrong kind', head('  lsmhooks: []', 'Policy'), 'kind', 'TracingPolicy'],
  ['missing metadata name', head('  lsmhooks: []', 'TracingPolicy', 'labels: {}'), 'metadata.name', ''],
  ['bad metadata name', head('  lsmhooks: []', 'TracingPolicy', 'name: Bad_Name'), 'metadata.name', 'DNS-1123'],
  ['unknown metadata key', head('  lsmhooks: []', 'TracingPolicy', 'name: p\n  owner: me'), 'metadata.owner', 'unknown'],
  ['namespaced without namespace', head('  lsmhooks: [{hook: file_open}]', 'TracingPolicyNamespaced'), 'metadata.namespace', 'needs'],
  ['unknown top-level key', head('  lsmhooks: [{hook: file_open}]') + 'status: {}\n', 'status', 'unknown'],
  ['unknown spec key', head('  kprobez: []'), 'spec.kprobez', 'unknown'],
  ['unsupported spec feature', head('  uprobes: []'), 'spec.uprobes', 'unsupported'],
  ['no hook at all', head('  options: []'), 'spec', 'no hook'],
  ['spec not an object', head('  - 1'), 'spec', ''],
  ['kprobes not a list', head('  kprobes: {call: x}'), 'spec.kprobes', ''],
  ['kprobe without call', head('  kprobes: [{syscall: true}]'), 'spec.kprobes[0].call', ''],
  ['kprobe call with spaces', head('  kprobes: [{call: "sys open"}]'), 'spec.kprobes[0].call', 'not a kernel function'],
  ['kprobe syscall not boolean', head('  kprobes: [{call: sys_openat, syscall: "yes"}]'), 'spec.kprobes[0].syscall', ''],
  ['unknown kprobe key', head('  kprobes: [{call: sys_openat, sycall: true}]'), 'spec.kprobes[0].sycall', 'unknown'],
  ['arg index too big', kp('    args: [{index: 9, type: int}]\n'), 'spec.kprobes[0].args[0].index', ''],
  ['arg index negative', kp('    args: [{index: -1, type: int}]\n'), 'spec.kprobes[0].args[0].index', ''],
  ['unknown arg type', kp('    args: [{index: 0, type: skb_thing}]\n'), 'spec.kprobes[0].args[0].type', 'unsupported argument type'],
  ['arg declared twice', kp('    args: [{index: 1, type: string}, {index: 1, type: int}]\n'), 'spec.kprobes[0].args[1].index', 'declared twice'],
  ['char_buf without size', kp('    args: [{index: 1, type: char_buf}]\n'), 'spec.kprobes[0].args[0].sizeArgIndex', 'sizeArgIndex'],
  ['unknown arg key', kp('    args: [{index: 1, type: string, lable: x}]\n'), 'spec.kprobes[0].args[0].lable', 'unknown'],
  ['too many args', kp(`    args: [${[0, 1, 2, 3, 4, 5, 0].map((i) => `{index: ${i}, type: int}`).join(', ')}]\n`), 'spec.kprobes[0].args', ''],
  ['too many selectors', lsm(Array(6).fill('    - matchActions: [{action: Post}]\n').join('')), 'spec.lsmhooks[0].selectors', 'at most 5'],
  ['unknown selector key', lsm('    - matchArguments: []\n'), 'spec.lsmhooks[0].selectors[0].matchArguments', 'unknown'],
  ['bad operator', lsm('    - matchArgs: [{index: 0, operator: StartsWith, values: [x]}]\n'), 'selectors[0].matchArgs[0].operator', 'unknown operator'],
  ['operator does not fit type', lsm('    - matchArgs: [{index: 0, operator: GT, values: ["5"]}]\n'), 'matchArgs[0].operator', 'does not apply'],
  ['matchArgs index not declared', lsm('    - matchArgs: [{index: 3, operator: Equal, values: [x]}]\n'), 'matchArgs[0].index', 'no argument with index 3'],
  ['matchArgs without values', lsm('    - matchArgs: [{index: 0, operator: Equal, values: []}]\n'), 'matchArgs[0].values', 'at least one'],
  ['too many matchArgs', lsm(`    - matchArgs: [${Array(6).fill('{index: 0, operator: Equal, values: [x]}').join(', ')}]\n`), 'matchArgs', 'at most 5'],
  ['too many values', lsm(`    - matchArgs: [{index: 0, operator: Equal, values: [${Array(65537).fill('a').join(',')}]}]\n`), 'matchArgs[0].values', 'too many values'],
  ['int value not an integer', kp('    args: [{index: 2, type: int}]\n    selectors:\n    - matchArgs: [{index: 2, operator: Equal, values: ["abc"]}]\n'), 'matchArgs[0].values[0]', 'not an integer'],
  ['bad InRange', kp('    args: [{index: 2, type: int}]\n    selectors:\n    - matchArgs: [{index: 2, operator: InRange, values: ["9:1"]}]\n'), 'values[0]', 'invalid range'],
  ['invalid CIDR prefix', sockSel('DAddr', '["10.0.0.0/33"]'), 'values[0]', 'prefix length must be 0..32'],
  ['invalid CIDR address', sockSel('NotDAddr', '["10.0.0.256/8"]'), 'values[0]', 'not an IPv4 or IPv6 address'],
  ['invalid IPv6 CIDR prefix', sockSel('DAddr', '["fd00::/129"]'), 'values[0]', '0..128'],
  ['CIDR with two slashes', sockSel('DAddr', '["10.0.0.0/8/9"]'), 'values[0]', "more than one '/'"],
  ['bad port', sockSel('DPort', '["70000"]'), 'values[0]', 'invalid port'],
  ['port not a number', sockSel('DPort', '["http"]'), 'values[0]', 'invalid port'],
  ['DPortPriv with values', sockSel('DPortPriv', '["1"]'), 'values', 'takes no values'],
  ['bad protocol', sockSel('Protocol', '["IPPROTO_BOGUS"]'), 'values[0]', 'invalid protocol'],
  ['bad family', sockSel('Family', '["AF_BOGUS"]'), 'values[0]', 'invalid family'],
  ['string op on sockaddr', sockSel('Prefix', '["x"]'), 'operator', 'does not apply'],
  ['matchBinaries relative path', lsm('    - matchBinaries: [{operator: In, values: ["bash"]}]\n'), 'matchBinaries[0].values[0]', 'absolute path'],
  ['matchBinaries bad operator', lsm('    - matchBinaries: [{operator: Equal, values: ["/bin/sh"]}]\n'), 'matchBinaries[0].operator', 'unknown operator'],
  ['matchBinaries no values', lsm('    - matchBinaries: [{operator: In, values: []}]\n'), 'matchBinaries[0].values', 'at least one'],
  ['matchPIDs bad operator', lsm('    - matchPIDs: [{operator: Prefix, values: [1]}]\n'), 'matchPIDs[0].operator', ''],
  ['matchPIDs string values', lsm('    - matchPIDs: [{operator: In, values: ["one"]}]\n'), 'matchPIDs[0].values[0]', ''],
  ['matchNamespaces unknown namespace', lsm('    - matchNamespaces: [{namespace: Disk, operator: In, values: ["1"]}]\n'), 'matchNamespaces[0].namespace', ''],
  ['matchCapabilities bad name', lsm('    - matchCapabilities: [{type: Effective, operator: In, values: ["SYS_ADMIN"]}]\n'), 'matchCapabilities[0].values[0]', 'CAP_SYS_ADMIN'],
  ['unknown action', lsm('    - matchActions: [{action: Block}]\n'), 'matchActions[0].action', 'unsupported action'],
  ['Override without argError', lsm('    - matchActions: [{action: Override}]\n'), 'matchActions[0].argError', 'needs argError'],
  ['Override with positive argError', lsm('    - matchActions: [{action: Override, argError: 1}]\n'), 'matchActions[0].argError', 'negative errno'],
  ['Signal without argSig', lsm('    - matchActions: [{action: Signal}]\n'), 'matchActions[0].argSig', 'needs argSig'],
  ['argSig on Post', lsm('    - matchActions: [{action: Post, argSig: 9}]\n'), 'matchActions[0].argSig', 'only applies to Signal'],
  ['rateLimit on Sigkill', lsm('    - matchActions: [{action: Sigkill, rateLimit: 1m}]\n'), 'matchActions[0].rateLimit', 'only applies to Post'],
  ['bad rateLimit', lsm('    - matchActions: [{action: Post, rateLimit: soon}]\n'), 'matchActions[0].rateLimit', 'duration'],
  ['Post and NoPost', lsm('    - matchActions: [{action: Post}, {action: NoPost}]\n'), 'selectors[0].matchActions', 'contradict'],
  ['Override on a tracepoint', head('  tracepoints:\n  - subsystem: sched\n    event: sched_process_exec\n    selectors:\n    - matchActions: [{action: Override, argError: -1}]\n'), 'spec.tracepoints[0].selectors[0].matchActions[0].action', 'cannot prevent'],
  ['unknown LSM hook', lsm('    - matchActions: [{action: Post}]\n', '    args: []\n', 'does_not_exist'), 'spec.lsmhooks[0].hook', "unknown LSM hook 'does_not_exist'"],
  ['bad policy-mode', head('  lsmhooks: [{hook: file_open}]\n  options: [{name: policy-mode, value: audit}]'), 'spec.options[0].value', ''],
  ['unknown option', head('  lsmhooks: [{hook: file_open}]\n  options: [{name: disable-kprobe-multi, value: "1"}]'), 'spec.options[0].name', ''],
  ['too many tags', head(`  lsmhooks: [{hook: file_open, tags: [${Array(17).fill('t').join(',')}]}]`), 'spec.lsmhooks[0].tags', 'at most 16'],
  ['tracepoint bad subsystem', head('  tracepoints: [{subsystem: "sched/x", event: e}]'), 'spec.tracepoints[0].subsystem', ''],
  ['YAML syntax error', 'apiVersion: [\n', '', 'not valid YAML'],
  ['duplicate YAML key', 'apiVersion: cilium.io/v1alpha1\napiVersion: cilium.io/v1alpha1\n', '', 'not valid YAML'],
  ['empty file', '\n', '', 'no policy'],
];

describe('TracingPolicy validation', () => {
  it(`has at least 50 malformed cases (${MALFORMED.length})`, () => expect(MALFORMED.length).toBeGreaterThanOrEqual(50));

  it.each(MALFORMED)('%s', (_, yaml, path, message) => {
    const issues = issuesOf(yaml);
    const hit = issues.find((i) => i.path.includes(path) && i.message.includes(message));
    expect(hit, JSON.stringify(issues)).toBeDefined();
  });

  it('names the document of a multi-document file', () => {
    const good = head('  lsmhooks: [{hook: file_open}]');
    const bad = head('  lsmhooks: [{hook: file_open, bogus: 1}]', 'TracingPolicy', 'name: p2');
    const issues = issuesOf(`${good}---\n${bad}`);
    expect(issues.map((i) => i.path)).toEqual(['document 2: spec.lsmhooks[0].bogus']);
  });

  it('refuses two policies with the same name', () => {
    const p = head('  lsmhooks: [{hook: file_open}]');
    expect(issuesOf(`${p}---\n${p}`)[0]?.message).toContain("two policies are named 'p1'");
  });

  it('loads every example and reads its mode', () => {
    for (const f of readdirSync(EXAMPLES)) {
      const ps = parsePolicies(readFileSync(join(EXAMPLES, f), 'utf8'), f);
      expect(ps.length).toBeGreaterThan(0);
      for (const p of ps) expect(policyMode(p)).toBe('enforce');
    }
    const m = parsePolicies(head('  lsmhooks: [{hook: file_open}]\n  options: [{name: policy-mode, value: monitor}]'), 'x')[0]!;
    expect(policyMode(m)).toBe('monitor');
  });
});

describe('planner', () => {
  const here = new Set(['tracepoint', 'syscall_tracepoint', 'tp_btf', 'cgroup_sock_addr', 'fanotify_exec_perm', 'fanotify_open_perm', 'bpf_send_signal']);
  const vm = new Set([...here, 'kprobe', 'fentry', 'fmod_ret', 'bpf_lsm']);
  const all = new Set<Backend>(['bpf_lsm', 'fmod_ret', 'kprobe', 'fentry', 'fanotify_exec', 'fanotify_open', 'cgroup_connect', 'syscall_tracepoint', 'tracepoint', 'tp_btf']);
  const example = (f: string) => parsePolicies(readFileSync(join(EXAMPLES, f), 'utf8'), f)[0]!;

  it.each([
    ['block-exec.yaml', 'fanotify_exec', 'bpf_lsm'],
    ['block-shadow-read.yaml', 'fanotify_open', 'bpf_lsm'],
    ['egress-cidr.yaml', 'cgroup_connect', 'bpf_lsm'],
    ['watch-connect.yaml', 'cgroup_connect', 'bpf_lsm'],
    ['kill-etc-writer.yaml', 'syscall_tracepoint', 'syscall_tracepoint'],
    ['watch-privileges.yaml', 'syscall_tracepoint', 'syscall_tracepoint'],
    ['watch-exec-rawtp.yaml', 'tp_btf', 'tp_btf'],
  ])('%s → %s here, %s where BPF LSM loads', (f, hereBackend, vmBackend) => {
    expect(planPolicy(example(f), here, all).hooks[0]?.backend).toBe(hereBackend);
    expect(planPolicy(example(f), vm, all).hooks[0]?.backend).toBe(vmBackend);
  });

  it('refuses a kernel-function kprobe where neither kprobes nor fentry load, naming the alternative', () => {
    const p = parsePolicies(head('  kprobes: [{call: tcp_connect, args: [{index: 0, type: sock}]}]'), 'x')[0]!;
    const plan = planPolicy(p, here, all);
    expect(plan.hooks).toEqual([]);
    expect(plan.errors[0]?.path).toBe('spec.kprobes[0]');
    expect(plan.errors[0]?.message).toMatch(/kprobes tcp_connect cannot be provided on this kernel: fentry program: not available.*kprobe: not available.*use tracepoints/);
  });

  it('refuses Override on a syscall kprobe without fmod_ret', () => {
    const p = parsePolicies(kp('    selectors:\n    - matchActions: [{action: Override, argError: -1}]\n'), 'x')[0]!;
    const plan = planPolicy(p, here, all);
    expect(plan.errors[0]?.message).toMatch(/fmod_ret program: not available.*use lsmhooks bprm_check_security, file_open or socket_connect/);
    expect(planPolicy(p, vm, all).hooks[0]?.backend).toBe('fmod_ret');
  });

  it('refuses an LSM hook without BPF LSM and without a fallback', () => {
    const p = parsePolicies(head('  lsmhooks: [{hook: path_unlink}]'), 'x')[0]!;
    expect(planPolicy(p, here, all).errors[0]?.message).toMatch(/BPF LSM program: not available.*Without BPF LSM, Peregrine enforces/);
  });

  it('refuses selectors a fallback cannot evaluate', () => {
    const p = parsePolicies(lsm('    - matchNamespaces: [{namespace: Pid, operator: In, values: ["1"]}]\n'), 'x')[0]!;
    expect(planPolicy(p, here, all).errors[0]?.message).toMatch(/cannot evaluate matchNamespaces/);
  });

  it('gives matchPIDs isNamespacePID to the in-kernel engines; fanotify and cgroup/connect fallbacks refuse matchPIDs', () => {
    const pids = '    - matchPIDs: [{operator: NotIn, isNamespacePID: true, values: [1]}]\n';
    const exec = parsePolicies(lsm(pids), 'x')[0]!;
    expect(planPolicy(exec, vm, all).hooks[0]?.backend).toBe('bpf_lsm');
    expect(planPolicy(exec, here, all).errors[0]?.message).toMatch(/fanotify FAN_OPEN_EXEC_PERM.*cannot evaluate matchPIDs/);
    const conn = parsePolicies(lsm(pids, '    args: [{index: 0, type: sock}]\n', 'socket_connect'), 'x')[0]!;
    expect(planPolicy(conn, here, all).errors[0]?.message).toMatch(/cgroup\/connect4.*cannot evaluate matchPIDs/);
    expect(planPolicy(parsePolicies(kp(pids.replace('    -', '    selectors:\n    -')), 'x')[0]!, here, all).hooks[0]?.backend).toBe('syscall_tracepoint');
  });

  it('gives matchParentBinaries and followChildren to BPF LSM; its fanotify fallback cannot evaluate the parent', () => {
    const p = parsePolicies(lsm(
      '    - matchParentBinaries: [{operator: In, values: [/bin/sh]}]\n' +
      '      matchBinaries: [{operator: In, values: [/bin/sh], followChildren: true}]\n' +
      '      matchActions: [{action: Override, argError: -1}]\n',
      '    args: [{index: 0, type: file}]\n', 'file_open',
    ), 'x')[0]!;
    expect(planPolicy(p, vm, all).hooks[0]?.backend).toBe('bpf_lsm');
    expect(planPolicy(p, here, all).errors[0]?.message).toMatch(/cannot evaluate matchParentBinaries/);
  });

  it('says when a backend is not built yet', () => {
    const p = example('block-exec.yaml');
    expect(planPolicy(p, here, new Set()).errors[0]?.message).toMatch(/not implemented in this build yet/);
  });
});
