import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ImageInvalid } from '../errors.ts';
import { type LayerEntry, normalizeLayerPath, planFlatten } from './flatten.ts';

const d = (path: string): LayerEntry => ({ path, type: 'directory' });
const f = (path: string): LayerEntry => ({ path, type: 'file' });

/** The final tree as `layer:path` strings, in emit order. */
function flatten(layers: LayerEntry[][]): string[] {
  const keep = planFlatten(layers);
  return layers.flatMap((entries, l) => entries.filter((_, i) => keep[l]![i]).map((e) => `${l}:${e.path}`));
}

describe('planFlatten', () => {
  test('an upper entry replaces a lower one; directories merge', () => {
    assert.deepEqual(
      flatten([
        [d('etc'), f('etc/a'), f('etc/b')],
        [d('etc'), f('etc/b'), f('etc/c')],
      ]),
      ['0:etc/a', '1:etc', '1:etc/b', '1:etc/c'],
    );
  });

  test('a whiteout removes a file, or a directory with everything under it', () => {
    assert.deepEqual(
      flatten([
        [d('etc'), f('etc/keep'), f('etc/gone'), d('var'), d('var/lib'), f('var/lib/x')],
        [f('etc/.wh.gone'), f('.wh.var')],
      ]),
      ['0:etc', '0:etc/keep'],
    );
  });

  test('an opaque directory hides what lower layers put in it, not its own layer', () => {
    assert.deepEqual(
      flatten([
        [d('app'), f('app/old'), d('app/sub'), f('app/sub/x'), f('other')],
        [d('app'), f('app/.wh..wh..opq'), f('app/new')],
      ]),
      ['0:other', '1:app', '1:app/new'],
    );
  });

  test('a whiteout applies to lower layers only', () => {
    assert.deepEqual(flatten([[f('a')], [f('.wh.a'), f('b')], [f('a')]]), ['1:b', '2:a']);
  });

  test('a path removed and created again keeps only the new content', () => {
    assert.deepEqual(flatten([[d('d'), f('d/old')], [f('.wh.d')], [d('d'), f('d/new')]]), ['2:d', '2:d/new']);
  });

  test('a file replacing a directory hides its subtree', () => {
    assert.deepEqual(flatten([[d('x'), f('x/inner')], [f('x')]]), ['1:x']);
  });

  test('within a layer the last entry for a path wins; root and aufs markers are dropped', () => {
    const layer = [d(''), f('a'), f('.wh..wh.plnk'), f('a')];
    const keep = planFlatten([layer]);
    assert.deepEqual(keep, [[false, false, false, true]]);
  });

  test('a hard link whose target a later layer replaced is refused', () => {
    const link: LayerEntry = { path: 'bin/b', type: 'hardlink', linkpath: 'bin/a' };
    assert.deepEqual(flatten([[d('bin'), f('bin/a'), link]]), ['0:bin', '0:bin/a', '0:bin/b']);
    assert.throws(() => flatten([[d('bin'), f('bin/a'), link], [f('bin/a')]]), ImageInvalid);
    assert.throws(
      () => flatten([[d('bin'), f('bin/a'), link], [f('bin/.wh.a')]]),
      /hard-links bin\/b to bin\/a/,
    );
  });
});

describe('normalizeLayerPath', () => {
  test('strips ./, / and trailing slashes; refuses ..', () => {
    assert.equal(normalizeLayerPath('./usr/bin/'), 'usr/bin');
    assert.equal(normalizeLayerPath('/etc//passwd'), 'etc/passwd');
    assert.equal(normalizeLayerPath('./'), '');
    assert.throws(() => normalizeLayerPath('usr/../../etc'), ImageInvalid);
  });
});
