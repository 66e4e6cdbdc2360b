// The XML codec at the HTTP edge: request bodies in (bounded, well-formedness checked, no DTDs and
// no entity expansion beyond XML's five predefined entities and character references), S3 result
// documents out. Capability modules receive plain element trees and never see XML text.
import { XMLBuilder, XMLParser, XMLValidator } from "fast-xml-parser";
import type { Readable } from "node:stream";
import { S3Error } from "../errors.js";

export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** An element tree: a string for text-only elements, an object for elements with children. */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] };

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

const builder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false, format: false });

/** Default cap for configuration-style bodies; S3 refuses larger ones. */
export const DEFAULT_XML_BODY_LIMIT = 1024 * 1024;

/**
 * Reads a whole request body, refusing more than `limit` bytes. On refusal the stream is left
 * alive (not destroyed) so the edge can drain it and the client still reads the error.
 */
export function readBody(body: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        reject(new S3Error("MalformedXML", "The XML you provided was larger than the maximum allowed size."));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    body.on("data", onData);
    body.on("end", onEnd);
    body.on("error", onError);
  });
}

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);|&/g;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeText(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(ENTITY, (whole, ref: string | undefined) => {
    if (ref === undefined) throw malformed();
    if (ref[0] === "#") {
      const cp = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(cp) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0) throw malformed();
      return String.fromCodePoint(cp);
    }
    const named = NAMED[ref];
    if (named === undefined) throw malformed();
    return named;
  });
}

function malformed(): S3Error {
  return new S3Error("MalformedXML");
}

function normalise(node: unknown): XmlNode | XmlNode[] {
  if (typeof node === "string") return decodeText(node);
  if (typeof node === "number" || typeof node === "boolean") return String(node);
  if (Array.isArray(node)) return node.map((n) => normalise(n) as XmlNode);
  if (node && typeof node === "object") {
    const out: Record<string, XmlNode | XmlNode[]> = {};
    for (const [name, child] of Object.entries(node)) {
      // Whitespace between child elements is not content in any S3 document.
      if (name === "#text") continue;
      out[name] = normalise(child);
    }
    return out;
  }
  return "";
}

/**
 * Parses an S3 request document whose root element must be `root`; returns the root's children.
 * Anything that is not well-formed, declares a DTD, or has a different root is MalformedXML.
 */
export function parseXml(body: Buffer, root: string): Record<string, XmlNode | XmlNode[]> {
  const text = body.toString("utf8");
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw malformed();
  if (text.trim() === "" || XMLValidator.validate(text) !== true) throw malformed();
  let tree: unknown;
  try {
    tree = parser.parse(text);
  } catch {
    throw malformed();
  }
  const doc = normalise(tree);
  if (typeof doc !== "object" || Array.isArray(doc)) throw malformed();
  const names = Object.keys(doc);
  if (names.length !== 1 || names[0] !== root) throw malformed();
  const top = doc[root];
  // An empty root may still hold whitespace (S3's own example of disabling logging does).
  if (typeof top === "string" && top.trim() === "") return {};
  if (typeof top !== "object" || Array.isArray(top)) throw malformed();
  return top;
}

/** Children of an element as an array, whether the element appeared once or many times. */
export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A text-only child element's value, or undefined when absent. Repeated or nested → MalformedXML. */
export function textOf(node: Record<string, XmlNode | XmlNode[]>, name: string): string | undefined {
  const v = node[name];
  if (v === undefined) return undefined;
  if (typeof v === "string") return v;
  if (!Array.isArray(v) && Object.keys(v).length === 0) return "";
  throw malformed();
}

/**
 * MalformedXML for a document that parses but breaks the operation's schema, saying what broke
 * (S3's own message, then the detail).
 */
export function schemaError(why: string): S3Error {
  return new S3Error("MalformedXML", `The XML you provided was not well-formed or did not validate against our published schema: ${why}`);
}

/** Refuses (MalformedXML) any child element of `el` not named in `allowed`. */
export function onlyChildren(el: Record<string, XmlNode | XmlNode[]>, allowed: readonly string[], where: string): void {
  for (const name of Object.keys(el)) {
    if (!allowed.includes(name)) throw schemaError(`unexpected element ${name} in ${where}`);
  }
}

/** A text-only child element that must be present (MalformedXML otherwise). */
export function requiredText(el: Record<string, XmlNode | XmlNode[]>, name: string, where: string): string {
  const v = textOf(el, name);
  if (v === undefined) throw schemaError(`${where} requires ${name}`);
  return v;
}

/** A child element with children of its own, or undefined. Repeated → MalformedXML. */
export function elementOf(
  node: Record<string, XmlNode | XmlNode[]>,
  name: string,
): Record<string, XmlNode | XmlNode[]> | undefined {
  const v = node[name];
  if (v === undefined) return undefined;
  if (typeof v === "string" && v.trim() === "") return {};
  if (typeof v === "string" || Array.isArray(v)) throw malformed();
  return v;
}

/** Serialises an S3 result document with the S3 namespace on its root element. */
export function toXml(root: string, value: Record<string, unknown>, xmlns: string | null = S3_XMLNS): string {
  const rootValue = xmlns ? { "@_xmlns": xmlns, ...stripUndefined(value) } : stripUndefined(value);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + builder.build({ [root]: rootValue });
}

function stripUndefined(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      out[k] = v.map((item) => (item && typeof item === "object" && !(item instanceof Date) ? stripUndefined(item as Record<string, unknown>) : item));
    } else if (v && typeof v === "object" && !(v instanceof Date)) {
      out[k] = stripUndefined(v as Record<string, unknown>);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** S3's timestamp format in XML: ISO 8601 with milliseconds, UTC. */
export function xmlDate(d: Date): string {
  return d.toISOString();
}
