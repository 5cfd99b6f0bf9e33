// SPDX-License-Identifier: GPL-2.0
/* Never loaded: puts every struct of the network sensor's ABI into BTF, so user space can check its
 * layouts against them (packages/collector/src/net/layout.test.ts). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "net_msg.h"
#include "net_tables.h"

struct msg_connect abi_connect;
struct net_conf abi_net_conf;
struct net_lpm4_key abi_net_lpm4_key;
struct net_lpm6_key abi_net_lpm6_key;
struct net_port_key abi_net_port_key;
struct net_table abi_net_table;
enum net_msg_op abi_net_msg_op;
enum net_verdict abi_net_verdict;
enum net_counter abi_net_counter;

char LICENSE[] SEC("license") = "GPL";
