/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tracepoint backend's own table (programs/syscall/tp.h): TracingPolicy `tracepoints:` hooks run
 * through the syscall backend's selector framework (sel_*.h). Per hook, where each declared field sits
 * in the tracepoint's record (from its format file, resolved in user space) and how to read it; the
 * hook's struct sel_hook then sees the fields as arguments 0..nfields-1 (ints in sel_heap.args,
 * strings already read: SEL_ARG_PRE). packages/collector/src/tracepoint/layout.ts mirrors it.
 */
#pragma once
#include "sel_msg.h"

#define SEL_TP_PROGS 8 /* copies of the tracepoint program (sel_tp0..7): distinct events attached at once */

/* sel_tp_field.how */
enum sel_tp_how {
	SEL_TP_INT = 1,   /* size bytes at off, zero-extended (sel_arg narrows and sign-extends) */
	SEL_TP_USTR = 2,  /* a user pointer at off (const char * of syscalls/sys_enter_*): NUL-terminated string */
	SEL_TP_KSTR = 3,  /* a kernel pointer at off: NUL-terminated string */
	SEL_TP_DLOC = 4,  /* __data_loc char[]: u32 at off, low 16 bits the string's offset in the record */
	SEL_TP_ARRAY = 5, /* char name[size] inside the record */
	SEL_TP_UBUF = 6,  /* char_buf: a user pointer at off, min(length field, SEL_STR_MAX - 1) bytes */
	SEL_TP_KBUF = 7,  /* char_buf: a kernel pointer at off, likewise */
};

#define SEL_TP_LEN_SIGNED 0x80 /* sel_tp_field.len_size: the length field is signed (negative: nothing read) */

struct sel_tp_field {
	__u16 off;     /* in the record, common fields included */
	__u16 size;    /* of the field */
	__u8 how;      /* enum sel_tp_how */
	__u8 len_size; /* UBUF/KBUF: bytes of the length field (1, 2, 4, 8), | SEL_TP_LEN_SIGNED */
	__u16 len_off; /* UBUF/KBUF: the length field's offset in the record (sizeArgIndex; declared or not) */
};

/* sel_tp_hooks value, at SEL_HOOK_IDX(generation, slot) like sel_hooks. */
struct sel_tp_hook {
	__u32 nfields;
	__u32 pad;
	struct sel_tp_field f[SEL_MAX_ARGS];
};
