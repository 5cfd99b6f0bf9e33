/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Selector evaluation for the bpf_lsm backend: sel_filter.h's steps and tables (struct sel_hook, the
 * sel_* value sets, the same ids and keys, written by the same encoder), shared with the syscall
 * backend. The lsm__ names are kept for the LSM programs' readability.
 */
#pragma once
#include "sel_filter.h"

#define lsm__idx sel__idx
#define lsm__reverse sel__reverse
#define lsm__match_argf sel__match_argf
#define lsm__match_selector sel__match_selector
