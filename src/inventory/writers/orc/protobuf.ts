// A minimal Protocol Buffers encoder for the ORC tail and index messages: varint, zigzag,
// length-delimited and packed fields, nothing else (ORC's messages need nothing else). Fields are
// written in the order the caller writes them; callers write them in field-number order.
// https://protobuf.dev/programming-guides/encoding/
import { ByteBuffer } from "./bytes.js";

const VARINT = 0;
const LENGTH_DELIMITED = 2;

export class ProtoWriter {
  private readonly out = new ByteBuffer(64);

  private tag(field: number, wireType: number): void {
    this.out.varint(field * 8 + wireType);
  }

  /** uint32/uint64/enum field. */
  uint(field: number, value: number | bigint): this {
    this.tag(field, VARINT);
    this.out.varint(value);
    return this;
  }

  /** sint32/sint64 field (zigzag). */
  sint(field: number, value: number | bigint): this {
    this.tag(field, VARINT);
    this.out.signedVarint(value);
    return this;
  }

  bool(field: number, value: boolean): this {
    this.tag(field, VARINT);
    this.out.byte(value ? 1 : 0);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, LENGTH_DELIMITED);
    this.out.varint(value.length);
    this.out.bytes(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, "utf8"));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** A packed repeated uint32/uint64 field; nothing is written for an empty list. */
  packedUints(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const inner = new ByteBuffer(values.length * 2 + 8);
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.view());
  }

  finish(): Uint8Array {
    return this.out.view();
  }
}
