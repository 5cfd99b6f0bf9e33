// SPDX-License-Identifier: GPL-2.0
/* Never loaded: it only puts every ABI struct into BTF so user space can check its layouts against
 * them (the structs a program keeps on the stack leave no BTF of their own in process.o). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "msg_types.h"

struct msg_common abi_common;
struct msg_key abi_key;
struct msg_cred abi_cred;
struct msg_ns abi_ns;
struct msg_exec abi_exec;
struct msg_clone abi_clone;
struct msg_exit abi_exit;
struct execve_map_value abi_execve_map_value;
struct tg_conf abi_tg_conf;

char LICENSE[] SEC("license") = "GPL";
