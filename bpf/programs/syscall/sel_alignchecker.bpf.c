// SPDX-License-Identifier: GPL-2.0
/* Never loaded: puts every struct of sel_msg.h into BTF for layout.test.ts (cf. bpf/alignchecker.bpf.c). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sel_msg.h"
#include "sel_tp.h"

struct msg_generic_syscall abi_generic_syscall;
struct sel_msg_arg abi_sel_msg_arg;
struct sel_msg_buf abi_sel_msg_buf;
struct sel_arg abi_sel_arg;
struct sel_argf abi_sel_argf;
struct sel_binf abi_sel_binf;
struct sel_pidf abi_sel_pidf;
struct sel_nsf abi_sel_nsf;
struct sel_capf abi_sel_capf;
struct sel_action abi_sel_action;
struct sel_selector abi_sel_selector;
struct sel_hook abi_sel_hook;
struct sel_nr abi_sel_nr;
struct sel_conf abi_sel_conf;
struct sel_strbuf abi_sel_strbuf;
struct sel_int_key abi_sel_int_key;
struct sel_ino_key abi_sel_ino_key;
struct sel_u32_key abi_sel_u32_key;
struct sel_exe abi_sel_exe;
struct sel_rl_key abi_sel_rl_key;
struct sel_pending_key abi_sel_pending_key;
struct sel_tp_field abi_sel_tp_field;
struct sel_tp_hook abi_sel_tp_hook;
/* The enums too: user space mirrors their values. */
enum sel_msg_op abi_sel_msg_op;
enum sel_arg_kind abi_sel_arg_kind;
enum sel_op abi_sel_op;
enum sel_bin_op abi_sel_bin_op;
enum sel_ns_kind abi_sel_ns_kind;
enum sel_cap_type abi_sel_cap_type;
enum sel_rl_scope abi_sel_rl_scope;
enum sel_action_taken abi_sel_action_taken;
enum sel_counter abi_sel_counter;
enum sel_tp_how abi_sel_tp_how;

char LICENSE[] SEC("license") = "GPL";
