// SPDX-License-Identifier: GPL-2.0
/* Test object for the native addon (native/test): kill(2) calls made by one chosen process become
 * ring-buffer records of varying length, so the reader's framing and padding are exercised. kill is
 * used because Node never calls it on its own; the test calls process.kill(process.pid, 0). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* Layout mirrored by native/test/native.test.ts. payload_len = seq % 8, so records are 32..39 bytes
 * and the reader's 8-byte padding is exercised for every residue. */
struct ringtest_record {
	__u32 magic; /* 0x52494e47 'RING' */
	__u32 tgid;
	__u64 seq;
	__s64 target; /* kill(2) pid argument */
	__s32 sig;
	__u32 payload_len;
	__u8 payload[8]; /* payload[i] = (seq + i) & 0xff, only payload_len bytes are submitted */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ringtest_rb SEC(".maps");

/* [0] = tgid whose kill calls are recorded (0 = nobody) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ringtest_filter SEC(".maps");

/* Per-CPU count of records submitted and of failed reservations: [0] = sent, [1] = ring full */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} ringtest_counts SEC(".maps");

/* Only touched from user space: exercises hash update/lookup/delete/next-key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} ringtest_hash SEC(".maps");

/* Global sequence across CPUs: one kill per record, so the order of seq is the order of submission.
 * A plain increment, not an atomic fetch-add: the value-returning BPF atomics need 5.12, and the
 * recorded kill(2) calls come from one thread of one process (the tests'), one after another. */
__u64 ringtest_seq = 0;

SEC("tracepoint/syscalls/sys_enter_kill")
int ringtest_kill(struct trace_event_raw_sys_enter *ctx)
{
	__u32 zero = 0, one = 1;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 *want = bpf_map_lookup_elem(&ringtest_filter, &zero);
	struct ringtest_record rec = {};
	__u64 *count;
	__u32 len;

	if (!want || *want == 0 || *want != tgid)
		return 0;
	rec.magic = 0x52494e47;
	rec.tgid = tgid;
	rec.seq = ringtest_seq++;
	rec.target = (__s64)ctx->args[0];
	rec.sig = (__s32)ctx->args[1];
	rec.payload_len = rec.seq & 7;
	for (int i = 0; i < 8; i++)
		rec.payload[i] = (rec.seq + i) & 0xff;
	len = offsetof(struct ringtest_record, payload) + rec.payload_len;
	if (bpf_ringbuf_output(&ringtest_rb, &rec, len, BPF_RB_NO_WAKEUP) == 0) {
		count = bpf_map_lookup_elem(&ringtest_counts, &zero);
	} else {
		count = bpf_map_lookup_elem(&ringtest_counts, &one);
	}
	if (count)
		*count += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
