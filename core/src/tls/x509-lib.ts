// @peculiar/x509 2.x, and the Reflect metadata API its tsyringe needs loaded first. In the
// binary this is a part of its own (roles/x509.cjs, build/bundle.ts) that the daemon loads
// at its first certificate, and acme-client's copy of @peculiar/x509 is this one too: the
// daemon holds the library's source only once it makes or reads a certificate, and once.
import 'reflect-metadata';

export * from '@peculiar/x509';
