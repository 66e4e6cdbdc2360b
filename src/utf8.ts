// S3's key order, which is also how ORC and Parquet statistics compare strings: by UTF-8 bytes,
// which is code point order. JavaScript's < compares UTF-16 code units instead, and the two differ
// beyond the Basic Multilingual Plane.

/** Compares two strings by their UTF-8 bytes without encoding them. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (code points past U+FFFF) sort after U+E000..U+FFFF in code point order.
      const fx = x >= 0xd800 ? (x >= 0xe000 ? x - 0x800 : x + 0x2000) : x;
      const fy = y >= 0xd800 ? (y >= 0xe000 ? y - 0x800 : y + 0x2000) : y;
      return fx - fy;
    }
  }
  return a.length - b.length;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A header value as its sender wrote it. Node reads header bytes as Latin-1, one character per
 * byte, while SDKs send non-ASCII values as UTF-8 and sign those UTF-8 bytes: read them as UTF-8
 * when they are valid UTF-8. Bytes that are not (a Latin-1 sender's) stay as Node read them.
 */
export function headerText(value: string): string {
  if (!/[^\x00-\x7f]/.test(value)) return value;
  const bytes = Buffer.from(value, "latin1");
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return value;
  }
}
