import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ImageInvalid } from '../errors.ts';
import type { Architecture } from '../manifest.ts';
import { END_OF_ARCHIVE, encodeHeader, padding, readTar, type TarEntry, TarFormatError } from '../tar/tar.ts';
import { type LayerEntry, normalizeLayerPath, planFlatten } from './flatten.ts';
import { type SquashfsOptions, squashfsFromTar } from './squashfs.ts';

/**
 * OCI images without a container engine: a `docker save` tarball (classic, or the OCI
 * layout Docker 25+ writes inside it) or an OCI image layout directory. The layers are
 * read twice as streams — once to index their entries and check their digests, once to
 * write the flattened tree as one tar into `tar2sqfs` — so nothing is extracted to disk,
 * no root is needed, and no path in a layer can touch the build machine.
 */

/** Where the files of an image come from: a directory or a tar. */
interface Store {
  readonly where: string;
  has(p: string): boolean;
  read(p: string, max: number): Promise<Buffer>;
  open(p: string): Readable;
}

const JSON_MAX = 4 * 1024 * 1024;

function safeRelative(p: string, where: string): string {
  const norm = normalizeLayerPath(p, where);
  if (norm === '' || path.isAbsolute(p)) throw new ImageInvalid(`${where} refers to a bad path '${p}'`);
  return norm;
}

class DirStore implements Store {
  readonly where: string;
  readonly #root: string;
  constructor(root: string) {
    this.#root = root;
    this.where = root;
  }
  #path(p: string) {
    return path.join(this.#root, safeRelative(p, this.where));
  }
  has(p: string) {
    return fs.existsSync(this.#path(p));
  }
  async read(p: string, max: number) {
    const file = this.#path(p);
    const { size } = await fsp.stat(file);
    if (size > max) throw new ImageInvalid(`${this.where}: ${p} is too large (${size} bytes)`);
    return fsp.readFile(file);
  }
  open(p: string) {
    return fs.createReadStream(this.#path(p), { highWaterMark: 1024 * 1024 });
  }
}

class TarStore implements Store {
  readonly where: string;
  readonly #file: string;
  readonly #index: Map<string, { offset: number; size: number }>;
  constructor(file: string, index: Map<string, { offset: number; size: number }>) {
    this.#file = file;
    this.#index = index;
    this.where = file;
  }
  static async index(file: string): Promise<TarStore> {
    const index = new Map<string, { offset: number; size: number }>();
    try {
      for await (const e of readTar(fs.createReadStream(file, { highWaterMark: 1024 * 1024 }))) {
        if (e.type === 'file')
          index.set(normalizeLayerPath(e.path, file), { offset: e.dataOffset, size: e.size });
      }
    } catch (e) {
      if (e instanceof TarFormatError) throw new ImageInvalid(`${file} is not a readable tar: ${e.message}`);
      throw e;
    }
    return new TarStore(file, index);
  }
  #entry(p: string) {
    const e = this.#index.get(safeRelative(p, this.where));
    if (!e) throw new ImageInvalid(`${this.where} has no ${p}`);
    return e;
  }
  has(p: string) {
    return this.#index.has(normalizeLayerPath(p, this.where));
  }
  async read(p: string, max: number) {
    const e = this.#entry(p);
    if (e.size > max) throw new ImageInvalid(`${this.where}: ${p} is too large (${e.size} bytes)`);
    const fh = await fsp.open(this.#file, 'r');
    try {
      const buf = Buffer.alloc(e.size);
      await fh.read(buf, 0, e.size, e.offset);
      return buf;
    } finally {
      await fh.close();
    }
  }
  open(p: string) {
    const e = this.#entry(p);
    if (e.size === 0) return Readable.from([]);
    return fs.createReadStream(this.#file, {
      start: e.offset,
      end: e.offset + e.size - 1,
      highWaterMark: 1024 * 1024,
    });
  }
}

/** Docker's and OCI's names for the architectures. */
const GO_ARCH: Record<Architecture, string> = { x86_64: 'amd64', arm64: 'arm64' };

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { architecture?: string; os?: string; variant?: string };
  annotations?: Record<string, string>;
}

/** A layer to read: its path in the store and the digests to check. */
interface LayerRef {
  path: string;
  /** sha256 of the stored (maybe compressed) bytes, for OCI descriptors. */
  digest?: string;
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids`). */
  diffId?: string;
}

export interface ResolvedImage {
  /** What the image is, for messages: `busybox:latest (linux/amd64)`. */
  name: string;
  layers: LayerRef[];
}

const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;

function blobPath(digest: string, where: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m) throw new ImageInvalid(`${where} has an unsupported digest '${digest}' (only sha256)`);
  return `blobs/sha256/${m[1]}`;
}

async function readJson<T>(store: Store, p: string, digest?: string): Promise<T> {
  const buf = await store.read(p, JSON_MAX);
  if (digest && `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}` !== digest) {
    throw new ImageInvalid(`${store.where}: ${p} does not match its digest ${digest}`);
  }
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch {
    throw new ImageInvalid(`${store.where}: ${p} is not JSON`);
  }
}

const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

const refName = (d: Descriptor) =>
  d.annotations?.['io.containerd.image.name'] ?? d.annotations?.['org.opencontainers.image.ref.name'];

function checkConfig(
  config: { architecture?: string; os?: string; rootfs?: { diff_ids?: string[] } },
  arch: Architecture,
  where: string,
): string[] {
  if (config.os !== undefined && config.os !== 'linux')
    throw new ImageInvalid(`${where} is a ${config.os} image, not linux`);
  if (config.architecture !== undefined && config.architecture !== GO_ARCH[arch]) {
    throw new ImageInvalid(`${where} holds a ${config.architecture} image, not ${GO_ARCH[arch]} (${arch})`, {
      hint: `give an image for ${arch}, or a multi-architecture OCI layout`,
    });
  }
  return config.rootfs?.diff_ids ?? [];
}

async function resolveOci(store: Store, arch: Architecture, tag: string | undefined): Promise<ResolvedImage> {
  let descriptor: Descriptor | undefined;
  let index = await readJson<{ manifests?: Descriptor[] }>(store, 'index.json');
  let name = store.where;
  for (let depth = 0; depth < 4; depth++) {
    let candidates = (index.manifests ?? []).filter(
      (d) =>
        (d.mediaType === undefined || MANIFEST_TYPES.has(d.mediaType) || INDEX_TYPES.has(d.mediaType)) &&
        d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest',
    );
    if (tag && depth === 0) {
      const tagged = candidates.filter((d) => {
        const n = refName(d);
        return n === tag || n?.endsWith(`:${tag}`) || n?.endsWith(`/${tag}`);
      });
      if (tagged.length === 0) throw new ImageInvalid(`${store.where} has no image tagged '${tag}'`);
      candidates = tagged;
    }
    const withPlatform = candidates.filter((d) => d.platform);
    if (withPlatform.length > 0) {
      candidates = withPlatform.filter(
        (d) =>
          d.platform?.os === 'linux' &&
          d.platform.architecture === GO_ARCH[arch] &&
          (arch !== 'arm64' || d.platform.variant === undefined || d.platform.variant === 'v8'),
      );
      if (candidates.length === 0) {
        const have = withPlatform.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).join(', ');
        throw new ImageInvalid(`${store.where} has no linux/${GO_ARCH[arch]} image (it has ${have})`);
      }
    }
    if (candidates.length === 0) throw new ImageInvalid(`${store.where} lists no image`);
    if (candidates.length > 1) {
      const names = candidates.map((d) => refName(d) ?? d.digest).join(', ');
      throw new ImageInvalid(`${store.where} holds several images (${names})`, {
        hint: 'name one with "tag" in hearth.images.json',
      });
    }
    descriptor = candidates[0]!;
    name = refName(descriptor) ?? name;
    if (descriptor.mediaType && INDEX_TYPES.has(descriptor.mediaType)) {
      index = await readJson(store, blobPath(descriptor.digest, store.where), descriptor.digest);
      continue;
    }
    const manifest = await readJson<{ config?: Descriptor; layers?: Descriptor[]; mediaType?: string }>(
      store,
      blobPath(descriptor.digest, store.where),
      descriptor.digest,
    );
    if (manifest.mediaType && INDEX_TYPES.has(manifest.mediaType)) {
      index = manifest as { manifests?: Descriptor[] };
      continue;
    }
    if (!manifest.config || !Array.isArray(manifest.layers)) {
      throw new ImageInvalid(`${store.where}: the image manifest has no config or layers`);
    }
    const config = await readJson<Parameters<typeof checkConfig>[0]>(
      store,
      blobPath(manifest.config.digest, store.where),
      manifest.config.digest,
    );
    const diffIds = checkConfig(config, arch, `${store.where} (${name})`);
    return {
      name: `${name} (linux/${GO_ARCH[arch]})`,
      layers: manifest.layers.map((l, i) => ({
        path: blobPath(l.digest, store.where),
        digest: l.digest,
        ...(diffIds[i] ? { diffId: diffIds[i] } : {}),
      })),
    };
  }
  throw new ImageInvalid(`${store.where}: image indexes nest too deeply`);
}

async function resolveDockerSave(
  store: Store,
  arch: Architecture,
  tag: string | undefined,
): Promise<ResolvedImage> {
  const images = await readJson<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(
    store,
    'manifest.json',
  );
  if (!Array.isArray(images) || images.length === 0)
    throw new ImageInvalid(`${store.where}: manifest.json lists no image`);
  let image = images[0]!;
  if (tag || images.length > 1) {
    const found = images.filter((i) => (i.RepoTags ?? []).some((t) => t === tag || t.endsWith(`:${tag}`)));
    if (found.length !== 1) {
      const tags = images.flatMap((i) => i.RepoTags ?? []).join(', ');
      throw new ImageInvalid(
        tag
          ? `${store.where} has no image tagged '${tag}' (it has ${tags})`
          : `${store.where} holds several images (${tags})`,
        { hint: 'name one with "tag" in hearth.images.json' },
      );
    }
    image = found[0]!;
  }
  const config = await readJson<Parameters<typeof checkConfig>[0]>(store, image.Config);
  const name = image.RepoTags?.[0] ?? store.where;
  const diffIds = checkConfig(config, arch, `${store.where} (${name})`);
  return {
    name: `${name} (linux/${GO_ARCH[arch]})`,
    layers: image.Layers.map((p, i) => ({ path: p, ...(diffIds[i] ? { diffId: diffIds[i] } : {}) })),
  };
}

async function openStore(source: string): Promise<Store> {
  const stat = await fsp.stat(source).catch(() => null);
  if (!stat) throw new ImageInvalid(`${source} does not exist`);
  return stat.isDirectory() ? new DirStore(source) : TarStore.index(source);
}

/**
 * Finds the image for `arch` in a `docker save` tarball or an OCI layout directory.
 *
 * @example
 * const image = await resolveImage('busybox.tar', 'x86_64'); // { name: 'busybox:latest (linux/amd64)', layers: [...] }
 */
export async function resolveImage(
  source: string,
  arch: Architecture,
  tag?: string,
): Promise<ResolvedImage & { store: Store }> {
  const store = await openStore(source);
  const resolved =
    store.has('index.json') && store.has('oci-layout')
      ? await resolveOci(store, arch, tag)
      : store.has('manifest.json')
        ? await resolveDockerSave(store, arch, tag)
        : null;
  if (!resolved) {
    throw new ImageInvalid(`${source} is neither an OCI image layout nor a docker save tarball`, {
      hint: 'docker save -o image.tar IMAGE, or skopeo copy docker://IMAGE oci:DIR',
    });
  }
  return { ...resolved, store };
}

const GZIP = Buffer.from([0x1f, 0x8b]);
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * A layer's uncompressed bytes (gzip and zstd are recognized by their magic), hashing
 * both forms as they pass. `verify()` reads what the tar reader left and checks the digests.
 */
function openLayer(
  store: Store,
  layer: LayerRef,
): { bytes: AsyncGenerator<Buffer>; verify(): Promise<void>; close(): void } {
  const raw = crypto.createHash('sha256');
  const diff = crypto.createHash('sha256');
  const source = store.open(layer.path);
  const bytes = (async function* () {
    const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await it.next();
    if (first.done) return;
    const head = first.value;
    const tapped = Readable.from(
      (async function* () {
        raw.update(head);
        yield head;
        for (let n = await it.next(); !n.done; n = await it.next()) {
          raw.update(n.value);
          yield n.value;
        }
      })(),
    );
    const decompressor = head.subarray(0, 2).equals(GZIP)
      ? zlib.createGunzip()
      : head.subarray(0, 4).equals(ZSTD)
        ? zlib.createZstdDecompress()
        : null;
    const out = decompressor ? tapped.pipe(decompressor) : tapped;
    tapped.on('error', (e) => decompressor?.destroy(e));
    for await (const chunk of out) {
      diff.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  })();
  return {
    bytes,
    close: () => source.destroy(),
    async verify() {
      for await (const _ of bytes);
      const what = `${store.where}: layer ${layer.path}`;
      if (layer.digest && `sha256:${raw.digest('hex')}` !== layer.digest)
        throw new ImageInvalid(`${what} does not match its digest`);
      if (layer.diffId && `sha256:${diff.digest('hex')}` !== layer.diffId) {
        throw new ImageInvalid(`${what} does not match its diff_id`);
      }
    },
  };
}

/** A layer's entries; the rest of the layer is read and its digests checked at the end. */
async function* layerEntries(store: Store, layer: LayerRef): AsyncGenerator<TarEntry> {
  const opened = openLayer(store, layer);
  try {
    yield* readTar(opened.bytes);
    await opened.verify();
  } catch (e) {
    if (e instanceof TarFormatError)
      throw new ImageInvalid(`${store.where}: layer ${layer.path} is not a readable tar: ${e.message}`);
    throw e;
  } finally {
    opened.close();
  }
}

const KEEP_PAX = /^(SCHILY\.xattr\.|LIBARCHIVE\.xattr\.)/;

/**
 * The flattened root of an image as one tar stream: pass one indexes every layer (and
 * checks its digests), {@link planFlatten} decides, pass two writes the winners.
 *
 * @example
 * await squashfsFromTar(flattenImage(await resolveImage('img.tar', 'x86_64')), 'main.squashfs');
 */
export async function* flattenImage(image: ResolvedImage & { store: Store }): AsyncGenerator<Buffer> {
  const index: LayerEntry[][] = [];
  for (const [i, layer] of image.layers.entries()) {
    const entries: LayerEntry[] = [];
    for await (const e of layerEntries(image.store, layer)) {
      const where = `layer ${i + 1} of ${image.name}`;
      const p = normalizeLayerPath(e.path, where);
      entries.push({
        path: p,
        type: e.type,
        ...(e.type === 'hardlink' ? { linkpath: normalizeLayerPath(e.linkpath, where) } : {}),
      });
    }
    index.push(entries);
  }
  const keep = planFlatten(index);
  for (const [i, layer] of image.layers.entries()) {
    let n = 0;
    for await (const e of layerEntries(image.store, layer)) {
      const k = n++;
      if (!keep[i]![k]) continue;
      const entry = index[i]![k]!;
      const pax = Object.fromEntries(Object.entries(e.pax).filter(([key]) => KEEP_PAX.test(key)));
      yield encodeHeader({
        path: entry.type === 'directory' ? `${entry.path}/` : entry.path,
        type: e.type,
        size: e.size,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        uname: e.uname,
        gname: e.gname,
        mtime: Math.max(0, Math.floor(e.mtime)),
        linkpath: entry.linkpath ?? e.linkpath,
        devmajor: e.devmajor,
        devminor: e.devminor,
        pax,
      });
      if (e.type === 'file') {
        yield* e.body();
        yield Buffer.alloc(padding(e.size));
      }
    }
  }
  yield END_OF_ARCHIVE;
}

/**
 * Builds a squashfs root from an OCI image (docker save tarball or OCI layout) for `arch`.
 *
 * @example
 * await squashfsFromOci('busybox.tar', 'x86_64', 'out/main.squashfs');
 */
export async function squashfsFromOci(
  source: string,
  arch: Architecture,
  out: string,
  options: SquashfsOptions & { tag?: string } = {},
): Promise<{ name: string }> {
  const image = await resolveImage(source, arch, options.tag);
  await squashfsFromTar(flattenImage(image), out, options);
  return { name: image.name };
}
