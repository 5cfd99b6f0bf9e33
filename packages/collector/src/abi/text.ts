// Text fields of kernel records: bytes decoded as UTF-8 without throwing (a name or path is whatever
// bytes the kernel holds), and fixed-size C strings such as comm, cut at their first NUL.
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** len bytes at start, as text. */
export function utf8Text(buf: Buffer, start: number, len: number): string {
  return utf8.decode(buf.subarray(start, start + len));
}

/** A NUL-terminated string in a size-byte field at start (the whole field if it has no NUL). */
export function cString(buf: Buffer, start: number, size: number): string {
  const field = buf.subarray(start, start + size);
  const nul = field.indexOf(0);
  return utf8.decode(nul < 0 ? field : field.subarray(0, nul));
}
