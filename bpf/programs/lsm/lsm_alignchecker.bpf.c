// SPDX-License-Identifier: GPL-2.0
/* Never loaded: puts every struct and enum of lsm_msg.h into BTF for layout.test.ts (cf. bpf/alignchecker.bpf.c). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lsm_msg.h"

struct msg_lsm abi_msg_lsm;
struct lsm_msg_arg abi_lsm_msg_arg;
struct lsm_hook abi_lsm_hook;
struct lsm_chain abi_lsm_chain;
enum lsm_msg_op abi_lsm_msg_op;
enum lsm_hook_id abi_lsm_hook_id;
enum lsm_src abi_lsm_src;
enum lsm_action_taken abi_lsm_action_taken;
enum lsm_counter abi_lsm_counter;

char LICENSE[] SEC("license") = "GPL";
