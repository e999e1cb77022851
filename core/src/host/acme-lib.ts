// acme-client, with axios and node-forge. In the binary this is a part of its own
// (roles/acme.cjs, build/bundle.ts) that the daemon loads at its first order, and its
// @peculiar/x509 is the daemon's own part (tls/x509-lib.ts): a box without custom domains
// never holds any of it.
// A named export: a default one would not survive the part's CommonJS boundary (the
// importer's interop takes module.exports itself as the default).
import acme from 'acme-client';

export { acme };
