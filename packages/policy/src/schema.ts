// TracingPolicy (cilium.io/v1alpha1), strict: every field Peregrine does not implement is an error
// naming its path, never silently ignored. Cross-field rules (an operator that fits the argument's
// type, values that parse, actions a hook can honour) are checked in validate.ts.
import { z } from 'zod';
import { ARG_OPS, ARG_TYPES } from './arg-types.js';

export const MAX_SELECTORS = 5;
export const MAX_VALUES = 65536;
const DNS1123 = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const values = z
  .array(z.union([z.string(), z.number().transform(String)]))
  .max(MAX_VALUES, `too many values (at most ${MAX_VALUES})`);

export const ArgSpec = z.strictObject({
  index: z.number().int().min(0).max(5),
  type: z.enum(ARG_TYPES, { error: (i) => `unsupported argument type ${JSON.stringify(i.input)} (supported: ${ARG_TYPES.join(', ')})` }),
  label: z.string().max(64).optional(),
  sizeArgIndex: z.number().int().min(1).max(6).optional(),
  returnCopy: z.boolean().optional(),
  maxData: z.boolean().optional(),
});
export type ArgSpec = z.output<typeof ArgSpec>;

export const ArgSelector = z.strictObject({
  // Up to 63 for tracepoint fields; a kprobe's matchArgs must name a declared argument (0..5) anyway.
  index: z.number().int().min(0).max(63),
  operator: z.enum(ARG_OPS, { error: (i) => `unknown operator ${JSON.stringify(i.input)}` }),
  values: values.default([]),
});

export const BinarySelector = z.strictObject({
  operator: z.enum(['In', 'NotIn', 'Prefix', 'NotPrefix', 'Postfix', 'NotPostfix'], {
    error: (i) => `unknown operator ${JSON.stringify(i.input)} (In, NotIn, Prefix, NotPrefix, Postfix, NotPostfix)`,
  }),
  values: values.min(1, 'at least one value is required'),
  followChildren: z.boolean().optional(),
});

export const PidSelector = z.strictObject({
  operator: z.enum(['In', 'NotIn']),
  followForks: z.boolean().optional(),
  isNamespacePID: z.boolean().optional(),
  values: z.array(z.number().int().min(0)).min(1).max(MAX_VALUES),
});

export const NAMESPACES = ['Uts', 'Ipc', 'Mnt', 'Pid', 'PidForChildren', 'Net', 'Time', 'TimeForChildren', 'Cgroup', 'User'] as const;
export const NamespaceSelector = z.strictObject({
  namespace: z.enum(NAMESPACES),
  operator: z.enum(['In', 'NotIn']),
  values: z.array(z.union([z.string(), z.number().transform(String)])).min(1).max(MAX_VALUES),
});

export const CapabilitySelector = z.strictObject({
  type: z.enum(['Effective', 'Inheritable', 'Permitted']),
  operator: z.enum(['In', 'NotIn']),
  isNamespaceCapability: z.boolean().optional(),
  values: z.array(z.string().regex(/^CAP_[A-Z_]+$/, 'expected a capability name like CAP_SYS_ADMIN')).min(1).max(64),
});

export const ACTIONS = ['Post', 'NoPost', 'Sigkill', 'Signal', 'Override'] as const;
export const Action = z.strictObject({
  action: z.enum(ACTIONS, { error: (i) => `unsupported action ${JSON.stringify(i.input)} (supported: ${ACTIONS.join(', ')})` }),
  argError: z.number().int().min(-4095).max(-1, 'argError must be a negative errno, e.g. -1 (EPERM)').optional(),
  argSig: z.number().int().min(1).max(64).optional(),
  rateLimit: z
    .string()
    .regex(/^\d+[smhd]?$/, 'rateLimit is a duration like 1m, 30s, 2h')
    .optional(),
  rateLimitScope: z.enum(['thread', 'process', 'global']).optional(),
});
export type Action = z.output<typeof Action>;

export const Selector = z.strictObject({
  matchArgs: z.array(ArgSelector).max(5, 'at most 5 matchArgs filters per selector').optional(),
  matchBinaries: z.array(BinarySelector).max(4).optional(),
  matchParentBinaries: z.array(BinarySelector).max(4).optional(),
  matchPIDs: z.array(PidSelector).max(4).optional(),
  matchNamespaces: z.array(NamespaceSelector).max(10).optional(),
  matchCapabilities: z.array(CapabilitySelector).max(3).optional(),
  matchActions: z.array(Action).max(4).optional(),
});
export type Selector = z.output<typeof Selector>;

const selectors = z.array(Selector).max(MAX_SELECTORS, `at most ${MAX_SELECTORS} selectors per hook`).optional();
const tags = z.array(z.string().min(1).max(128)).max(16, 'at most 16 tags').optional();
const message = z.string().max(256).optional();

export const KprobeSpec = z.strictObject({
  call: z.string().min(1).regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'not a kernel function or syscall name'),
  syscall: z.boolean().default(false),
  return: z.boolean().default(false),
  args: z.array(ArgSpec).max(6).default([]),
  returnArg: ArgSpec.omit({ index: true }).extend({ index: z.number().int().min(0).max(0).default(0) }).optional(),
  selectors,
  message,
  tags,
});
export type KprobeSpec = z.output<typeof KprobeSpec>;

export const TracepointSpec = z.strictObject({
  subsystem: z.string().regex(/^[A-Za-z0-9_]+$/, 'not a tracepoint subsystem'),
  event: z.string().regex(/^[A-Za-z0-9_]+$/, 'not a tracepoint event'),
  raw: z.boolean().optional(),
  // index: the field's position in the format file, common_* fields included (Tetragon's convention);
  // with raw: true, the TP_PROTO argument's position (from 0, the hidden __data excluded).
  // sizeArgIndex: 1 + the length field's (or raw argument's) index, counted from 1 as Tetragon's.
  args: z.array(ArgSpec.extend({ index: z.number().int().min(0).max(63), sizeArgIndex: z.number().int().min(1).max(64).optional() })).max(6).default([]),
  selectors,
  message,
  tags,
});
export type TracepointSpec = z.output<typeof TracepointSpec>;

export const LsmHookSpec = z.strictObject({
  hook: z.string().regex(/^[a-z0-9_]+$/, 'not an LSM hook name'),
  args: z.array(ArgSpec).max(6).default([]),
  selectors,
  message,
  tags,
});
export type LsmHookSpec = z.output<typeof LsmHookSpec>;

export const PolicyOption = z.discriminatedUnion('name', [
  z.strictObject({ name: z.literal('policy-mode'), value: z.enum(['enforce', 'monitor']) }),
]);

export const PolicySpec = z.strictObject({
  kprobes: z.array(KprobeSpec).optional(),
  tracepoints: z.array(TracepointSpec).optional(),
  lsmhooks: z.array(LsmHookSpec).optional(),
  options: z.array(PolicyOption).optional(),
});
export type PolicySpec = z.output<typeof PolicySpec>;

const Metadata = z.strictObject({
  name: z.string().min(1).max(253).regex(DNS1123, 'must be a DNS-1123 name (lower case, digits, - and .)'),
  namespace: z.string().min(1).max(63).regex(DNS1123, 'must be a DNS-1123 label').optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const TracingPolicy = z.strictObject({
  apiVersion: z.literal('cilium.io/v1alpha1', { error: 'apiVersion must be cilium.io/v1alpha1' }),
  kind: z.enum(['TracingPolicy', 'TracingPolicyNamespaced'], { error: 'kind must be TracingPolicy or TracingPolicyNamespaced' }),
  metadata: Metadata,
  spec: PolicySpec,
});
export type TracingPolicy = z.output<typeof TracingPolicy>;
