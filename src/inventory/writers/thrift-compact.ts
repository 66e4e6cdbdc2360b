// A writer for Thrift's compact protocol, as much of it as Parquet's page headers and footer need:
// structs, unions (a struct with one field), lists, i32/i64, binary/string and booleans.
// https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md

const T = { BOOL_TRUE: 1, BOOL_FALSE: 2, I32: 5, I64: 6, BINARY: 8, LIST: 9, STRUCT: 12 } as const;

/** A growable byte buffer. */
export class ByteBuilder {
  buf: Buffer;
  length = 0;
  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }
  ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + extra));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  /** Unsigned LEB128 of a non-negative integer below 2^53. */
  varint(n: number): void {
    this.ensure(8);
    while (n >= 0x80) {
      this.buf[this.length++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.length++] = n;
  }
  /** The bytes written so far (a view, valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);

/** Writes one Thrift struct (and nested ones) in the compact protocol. */
export class CompactWriter {
  readonly out = new ByteBuilder();
  private lastId = 0;
  private readonly stack: number[] = [];

  private header(id: number, type: number): void {
    const delta = id - this.lastId;
    if (delta > 0 && delta <= 15) this.out.byte((delta << 4) | type);
    else {
      this.out.byte(type);
      this.out.varint(zigzag(id));
    }
    this.lastId = id;
  }
  i32(id: number, v: number): this {
    this.header(id, T.I32);
    this.out.varint(zigzag(v));
    return this;
  }
  i64(id: number, v: number): this {
    this.header(id, T.I64);
    this.out.varint(zigzag(v));
    return this;
  }
  bool(id: number, v: boolean): this {
    this.header(id, v ? T.BOOL_TRUE : T.BOOL_FALSE);
    return this;
  }
  binary(id: number, v: Uint8Array): this {
    this.header(id, T.BINARY);
    this.out.varint(v.length);
    this.out.bytes(v);
    return this;
  }
  string(id: number, v: string): this {
    return this.binary(id, Buffer.from(v, "utf8"));
  }
  /** A nested struct: body writes its fields. */
  struct(id: number, body: (w: this) => void): this {
    this.header(id, T.STRUCT);
    this.beginStruct();
    body(this);
    return this.endStruct();
  }
  listI32(id: number, values: readonly number[]): this {
    this.listHeader(id, T.I32, values.length);
    for (const v of values) this.out.varint(zigzag(v));
    return this;
  }
  listString(id: number, values: readonly string[]): this {
    this.listHeader(id, T.BINARY, values.length);
    for (const v of values) {
      const b = Buffer.from(v, "utf8");
      this.out.varint(b.length);
      this.out.bytes(b);
    }
    return this;
  }
  listStruct<I>(id: number, items: readonly I[], body: (w: this, item: I) => void): this {
    this.listHeader(id, T.STRUCT, items.length);
    for (const item of items) {
      this.beginStruct();
      body(this, item);
      this.endStruct();
    }
    return this;
  }
  /** Ends the top-level struct and returns its bytes. */
  finish(): Buffer {
    this.out.byte(0);
    return this.out.view();
  }

  private listHeader(id: number, elemType: number, size: number): void {
    this.header(id, T.LIST);
    if (size < 15) this.out.byte((size << 4) | elemType);
    else {
      this.out.byte(0xf0 | elemType);
      this.out.varint(size);
    }
  }
  private beginStruct(): void {
    this.stack.push(this.lastId);
    this.lastId = 0;
  }
  private endStruct(): this {
    this.out.byte(0);
    this.lastId = this.stack.pop()!;
    return this;
  }
}
