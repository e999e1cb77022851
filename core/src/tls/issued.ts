/** A certificate made with its key, as the executors store it. */
export interface Issued {
  certPem: string;
  keyPem: string;
  notBefore: number;
  notAfter: number;
  /** SHA-256 of the DER, hex. */
  fingerprint: string;
}

/** A certificate that signs others, with its key. */
export interface Signer {
  certPem: string;
  keyPem: string;
}

/**
 * What makes certificates (x509.ts): handed in by the composition root and loaded at the
 * first certificate, so no other process (and no type-check of the web UI) loads it.
 */
export interface X509Maker {
  makeRoot(o: { commonName: string; now: number; days: number }): Promise<Issued>;
  makeIntermediate(o: { commonName: string; root: Signer; now: number; days: number }): Promise<Issued>;
  makeLeaf(o: {
    dns: readonly string[];
    ips: readonly string[];
    issuer: Signer;
    now: number;
    days: number;
  }): Promise<Issued>;
}
