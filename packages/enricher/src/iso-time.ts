// Nanosecond timestamps → RFC3339 UTC strings with nine fractional digits ("2023-10-06T22:03:57.700327580Z"),
// the precision of Tetragon's timestamps. Always nine digits, so strings of one format sort by time.

const NS_PER_SEC = 1_000_000_000n;

/** A formatter that reuses the "YYYY-MM-DDTHH:MM:SS" prefix while consecutive calls fall in the same second. */
export function createIsoFormatter(): (epochNs: bigint) => string {
  let lastSec = -1n;
  let lastPrefix = '';
  return (epochNs) => {
    let sec = epochNs / NS_PER_SEC;
    let frac = epochNs - sec * NS_PER_SEC;
    if (frac < 0n) {
      sec -= 1n;
      frac += NS_PER_SEC;
    }
    if (sec !== lastSec) {
      lastSec = sec;
      lastPrefix = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
    }
    return `${lastPrefix}.${String(frac).padStart(9, '0')}Z`;
  };
}

export const nsToIso: (epochNs: bigint) => string = createIsoFormatter();
