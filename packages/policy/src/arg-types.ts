// Argument types a hook may declare, and which selector operators each supports.

export const STRING_TYPES = ['string', 'char_buf', 'filename', 'path', 'file', 'fd', 'linux_binprm'] as const;
export const INT_TYPES = [
  'int', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'sint8', 'sint16', 'sint32', 'sint64',
  'long', 'size_t', 'capability',
] as const;
export const SOCK_TYPES = ['sock', 'sockaddr'] as const;
export const CRED_TYPES = ['cred'] as const;
export const ARG_TYPES = [...STRING_TYPES, ...INT_TYPES, ...SOCK_TYPES, ...CRED_TYPES] as const;
export type ArgType = (typeof ARG_TYPES)[number];

export const STRING_OPS = ['Equal', 'NotEqual', 'Prefix', 'NotPrefix', 'Postfix', 'NotPostfix'] as const;
export const INT_OPS = ['Equal', 'NotEqual', 'GT', 'GreaterThan', 'LT', 'LessThan', 'Mask', 'InRange', 'NotInRange'] as const;
export const SOCK_OPS = [
  'SAddr', 'NotSAddr', 'DAddr', 'NotDAddr', 'SPort', 'NotSPort', 'SPortPriv', 'NotSPortPriv', 'DPort', 'NotDPort', 'DPortPriv',
  'NotDPortPriv', 'Protocol', 'Family',
] as const;
export const ARG_OPS = [...new Set([...STRING_OPS, ...INT_OPS, ...SOCK_OPS])] as const;
export type ArgOp = (typeof ARG_OPS)[number];

export function opsFor(type: ArgType): readonly string[] {
  if ((STRING_TYPES as readonly string[]).includes(type)) return STRING_OPS;
  if ((INT_TYPES as readonly string[]).includes(type)) return INT_OPS;
  if ((SOCK_TYPES as readonly string[]).includes(type)) return SOCK_OPS;
  return ['Equal', 'NotEqual'];
}
