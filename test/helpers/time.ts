// One time scale for every test: waits, timeouts and wall-clock bounds are stretched by it, nothing else.
// 1 on real hardware; the kernel matrix's VM runner (scripts/vm/matrix.sh) sets PEREGRINE_TEST_TIME_SCALE,
// because software emulation (QEMU TCG) runs several times slower. Counts, contents and the order of
// events are asserted as they are, whatever the scale. (No imports: vitest.config.ts reads it too.)

/** The factor (>= 1) by which waits, timeouts and wall-clock bounds are stretched. */
export const TIME_SCALE = ((): number => {
  const v = Number(process.env.PEREGRINE_TEST_TIME_SCALE ?? '1');
  return Number.isFinite(v) && v >= 1 ? v : 1;
})();

/** A duration in ms, stretched by TIME_SCALE. */
export const scaled = (ms: number): number => Math.round(ms * TIME_SCALE);
