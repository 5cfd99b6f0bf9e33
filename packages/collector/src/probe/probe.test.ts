// probeKernel on the machine running the tests. Expectations come from facts the test establishes
// itself (files the kernel exposes, bpftool's own feature probe, the kernel config), so the same
// assertions hold on kernels other than the development VM described in kernel.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatFeatureReport, probeKernel, readKernelConfig, readMounts, type Feature, type FeatureReport } from './index.js';

const bpfDir = fileURLToPath(new URL('../../../../bpf/', import.meta.url));
const objectPath = `${bpfDir}.output/features.o`;
const privileged = process.geteuid?.() === 0 && existsSync('/sys/kernel/btf/vmlinux');

/** bpftool's verdicts ("eBPF program_type lsm is NOT available"), or null without bpftool. */
function bpftoolFeatures(): { available: (what: string) => boolean | undefined; text: string } | null {
  let text: string;
  try {
    text = execFileSync('bpftool', ['feature', 'probe', 'kernel'], { encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return null;
  }
  return {
    text,
    available(what) {
      const m = new RegExp(`eBPF ${what} is (NOT )?available`).exec(text);
      return m ? m[1] === undefined : undefined;
    },
  };
}

/** BPF fds (programs, maps, links, perf events) this process holds: a leak would show here. */
function bpfFds(): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((t) => /anon_inode:(bpf|\[perf_event\])/.test(t))
    .sort();
}

describe.skipIf(!privileged)('probeKernel on this kernel', () => {
  let report: FeatureReport;
  let feature: (name: string) => Feature;
  let bpftool: ReturnType<typeof bpftoolFeatures>;
  let fdsBefore: string[];

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', bpfDir, '.output/features.o'], { stdio: 'pipe' });
    bpftool = bpftoolFeatures();
    fdsBefore = bpfFds();
    report = await probeKernel({ objectPath });
    feature = (name) => {
      const f = report.features.find((x) => x.name === name);
      if (!f) throw new Error(`no feature ${name} in the report`);
      return f;
    };
  }, 60_000);

  it('reports kernel, libbpf and every feature once, in a fixed order', () => {
    expect(report.kernel).toBe(release());
    expect(report.libbpf).toMatch(/^\d+\.\d+/);
    expect(report.features.map((f) => f.name)).toEqual([
      'root', 'btf', 'bpffs', 'tracefs', 'securityfs', 'cgroup2',
      'tracepoint', 'syscall_tracepoint', 'raw_tracepoint', 'tp_btf', 'kprobe', 'kretprobe',
      'fentry', 'fexit', 'fmod_ret', 'bpf_lsm', 'uprobe', 'cgroup_sock_addr', 'task_iter',
      'bpf_send_signal', 'ringbuf', 'fanotify_exec_perm', 'fanotify_open_perm',
    ]);
    for (const f of report.features) expect(f.detail.length).toBeGreaterThan(0);
  });

  it('leaves no program, map or link behind', () => {
    expect(bpfFds()).toEqual(fdsBefore);
  });

  it('environment: root, BTF, and the pseudo-filesystems (mounted by the probe if they were missing)', () => {
    expect(feature('root').available).toBe(true);
    expect(feature('btf').available).toBe(true);
    const mounts = readMounts();
    const mountedAt = (type: string, ...targets: string[]) => mounts.some((m) => m.type === type && targets.includes(m.target));
    expect(feature('bpffs').available).toBe(true);
    expect(mountedAt('bpf', '/sys/fs/bpf')).toBe(true);
    expect(feature('tracefs').available).toBe(true);
    expect(mountedAt('tracefs', '/sys/kernel/tracing', '/sys/kernel/debug/tracing')).toBe(true);
    expect(feature('securityfs').available).toBe(mountedAt('securityfs', '/sys/kernel/security'));
    const cgroup2 = mounts.find((m) => m.type === 'cgroup2')?.target;
    expect(feature('cgroup2').available).toBe(cgroup2 !== undefined);
    if (cgroup2 !== undefined) expect(feature('cgroup2').detail).toContain(cgroup2);
  });

  it('tracepoints follow the tracefs events the kernel exposes', () => {
    const events = ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events'].find(existsSync);
    const has = (tp: string) => events !== undefined && existsSync(`${events}/${tp}`);
    expect(feature('tracepoint').available).toBe(has('sched/sched_process_exec'));
    expect(feature('raw_tracepoint').available).toBe(has('sched/sched_process_exec'));
    expect(feature('syscall_tracepoint').available).toBe(has('syscalls/sys_enter_getpid'));
    expect(feature('tp_btf').available).toBe(true); // BTF is present (asserted above)
  });

  it('kprobes are available exactly when the kernel exposes kprobe_events', () => {
    const expected = existsSync('/sys/kernel/tracing/kprobe_events') || existsSync('/sys/kernel/debug/tracing/kprobe_events');
    for (const name of ['kprobe', 'kretprobe']) {
      const f = feature(name);
      expect(f.available).toBe(expected);
      if (!expected) expect(f.detail).toMatch(/^attach failed with ENOENT \(.*(CONFIG_KPROBES|kprobe)/);
    }
  });

  it('fentry/fexit/fmod_ret follow bpftool\'s verdict on the tracing program type', () => {
    const tracing = bpftool?.available('program_type tracing');
    for (const name of ['fentry', 'fexit', 'fmod_ret']) {
      const f = feature(name);
      if (tracing !== undefined) expect(f.available).toBe(tracing);
      if (!f.available) expect(f.detail).toMatch(/^BPF_PROG_LOAD refused with E[A-Z]+ \(.+\)$/);
    }
  });

  it('BPF LSM needs both the program type (bpftool) and "bpf" among the active LSMs', () => {
    const f = feature('bpf_lsm');
    const progType = bpftool?.available('program_type lsm');
    if (progType === false) expect(f.available).toBe(false);
    if (progType === true && existsSync('/sys/kernel/security/lsm')) {
      const active = execFileSync('cat', ['/sys/kernel/security/lsm'], { encoding: 'utf8' }).split(',').includes('bpf');
      expect(f.available).toBe(active);
      if (!active) expect(f.detail).toMatch(/bpf LSM is not active/);
    }
    if (!f.available) expect(f.detail.length).toBeGreaterThan(10);
  });

  it('uprobe, cgroup sock_addr, task iterator, ring buffer and bpf_send_signal follow what the kernel offers', () => {
    expect(feature('uprobe').available).toBe(existsSync('/sys/bus/event_source/devices/uprobe'));
    expect(feature('cgroup_sock_addr').available).toBe(
      readMounts().some((m) => m.type === 'cgroup2') && bpftool?.available('program_type cgroup_sock_addr') !== false,
    );
    expect(feature('task_iter').available).toBe(true); // needs BTF, present here
    expect(feature('task_iter').detail).toMatch(/read \d+ tasks/);
    expect(feature('ringbuf').available).toBe(bpftool?.available('map_type ringbuf') ?? true);
    expect(feature('bpf_send_signal').available).toBe(bpftool === null ? true : bpftool.text.includes('bpf_send_signal'));
  });

  it('fanotify permission events follow CONFIG_FANOTIFY_ACCESS_PERMISSIONS', () => {
    const config = readKernelConfig();
    const expected = config === null ? true : config.get('CONFIG_FANOTIFY_ACCESS_PERMISSIONS') === 'y';
    expect(feature('fanotify_exec_perm').available).toBe(expected);
    expect(feature('fanotify_open_perm').available).toBe(expected);
  });

  it('formats as an aligned table', () => {
    const text = formatFeatureReport(report, { color: false });
    const lines = text.split('\n');
    expect(lines[0]).toBe(`kernel ${report.kernel}, libbpf ${report.libbpf}`);
    const marks = lines.slice(1).map((l) => l.search(/[✔✘]/));
    expect(new Set(marks).size).toBe(1);
  });

  it('reports a missing object per feature instead of throwing', async () => {
    const r = await probeKernel({ objectPath: '/nonexistent/features.o', mountMissing: false });
    const tp = r.features.find((f) => f.name === 'tracepoint');
    expect(tp).toEqual({
      name: 'tracepoint',
      available: false,
      detail: 'opening the probe object failed with ENOENT (No such file or directory)',
    });
  });
});
