// Mirror of bpf/lib/sel_tp.h (the tracepoint backend's own table); layout.test.ts compares it with the
// BTF of sel_alignchecker.o. Everything else is the syscall backend's (../syscall/layout.ts).
import type { StructLayout } from '../abi/layout.js';

export const TpHow = { INT: 1, USTR: 2, KSTR: 3, DLOC: 4, ARRAY: 5, UBUF: 6, KBUF: 7 } as const;
/** sel_tp_field.len_size: the length field is signed. */
export const TP_LEN_SIGNED = 0x80;
export type TpHowName = keyof typeof TpHow;

export const TP_LAYOUTS = {
  sel_tp_field: { size: 8, fields: { off: 0, size: 2, how: 4, len_size: 5, len_off: 6 } },
  sel_tp_hook: { size: 56, fields: { nfields: 0, pad: 4, f: 8 } },
} as const satisfies Record<string, StructLayout>;
