// SPDX-License-Identifier: GPL-2.0
/* Never loaded: puts every struct and enum of kf_msg.h into BTF for layout.test.ts (cf. bpf/alignchecker.bpf.c). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kf_msg.h"

struct msg_kfunc abi_msg_kfunc;
struct kf_msg_arg abi_kf_msg_arg;
struct kf_cred abi_kf_cred;
struct kf_hook abi_kf_hook;
struct kf_site abi_kf_site;
struct kf_pending_key abi_kf_pending_key;
enum kf_msg_op abi_kf_msg_op;
enum kf_src abi_kf_src;
enum kf_kind abi_kf_kind;
enum kf_action_taken abi_kf_action_taken;
enum kf_counter abi_kf_counter;

char LICENSE[] SEC("license") = "GPL";
