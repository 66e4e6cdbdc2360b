// HTTPS at the edge: the certificate and key files (read at start, read again on SIGHUP), whether
// a request came over TLS (aws:SecureTransport), and S3's refusal of customer keys sent in the
// clear. docs/operations.md describes the operator's side.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { TLSSocket, createSecureContext } from "node:tls";
import type { Logger } from "../log.js";
import type { TlsEdgeServer } from "./edge-server.js";
import { isLoopback } from "./observability.js";

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface Certificate {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads and checks the pair (createSecureContext throws on a file that is not PEM, or on a key
 * that does not match the certificate), so that a bad pair is refused before it is used.
 */
function checked(pair: Certificate): Certificate {
  createSecureContext(pair);
  return pair;
}

/** At start: a missing or bad file stops the server from starting. */
export function loadCertificate(files: CertificateFiles): Certificate {
  return checked({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) });
}

/**
 * Reads the files again and serves new connections with them; connections already open keep the
 * session they have. A file that cannot be read or used leaves the certificate in use as it was:
 * a renewal that wrote one file of the pair but not yet the other must not take the server down.
 */
export async function reloadCertificate(server: TlsEdgeServer, files: CertificateFiles, log: Logger): Promise<boolean> {
  try {
    const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
    server.setSecureContext(checked({ cert, key }));
    log.info("TLS certificate reloaded", { certFile: files.certFile });
    return true;
  } catch (err) {
    log.error("could not reload the TLS certificate; the previous one stays in use", { certFile: files.certFile, keyFile: files.keyFile, error: String(err) });
    return false;
  }
}

/** Whether the request's connection is TLS: the value of aws:SecureTransport. */
export function isSecureTransport(socket: Socket): boolean {
  return socket instanceof TLSSocket;
}

/**
 * S3 refuses any request carrying an SSE-C header over plain HTTP: the key would have crossed the
 * network in the clear. `allowOnLoopback` (--allow-insecure-sse-c) admits them from this host only,
 * where no network is crossed, for development and test suites without certificates.
 */
export function customerKeysMayArrive(secureTransport: boolean, remoteAddress: string | undefined, allowOnLoopback: boolean): boolean {
  return secureTransport || (allowOnLoopback && isLoopback(remoteAddress));
}
