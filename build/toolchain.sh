#!/usr/bin/env bash
# Fetches one pinned package of build/toolchain.lock from the npm registry with curl,
# checks its sha512 integrity and unpacks it under the cache. No npm or node is needed
# to run this: it is how a fresh machine gets both.
#   build/toolchain.sh <name> <cache-dir>   → prints the unpacked directory
set -euo pipefail
name=$1 cache=$2
here=$(cd "$(dirname "$0")" && pwd)
read -r _ version integrity < <(awk -v n="$name" '$1 == n { print $1, $2, $3 }' "$here/toolchain.lock")
[ -n "${version:-}" ] || { echo "toolchain.sh: $name is not in toolchain.lock" >&2; exit 2; }
dest="$cache/toolchain/$name-$version"
if [ -f "$dest/.ok" ]; then echo "$dest"; exit 0; fi
registry=${npm_config_registry:-https://registry.npmjs.org}
registry=${registry%/}
base=${name##*/}
url="$registry/$name/-/$base-$version.tgz"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "toolchain: fetching $name@$version" >&2
curl -fsSL --retry 3 -o "$tmp/pkg.tgz" "$url"
want=${integrity#sha512-}
got=$(openssl dgst -sha512 -binary "$tmp/pkg.tgz" | base64 -w0)
if [ "$want" != "$got" ]; then
  echo "toolchain.sh: $name@$version integrity mismatch (want $want, got $got)" >&2
  exit 1
fi
rm -rf "$dest" && mkdir -p "$dest"
tar -xzf "$tmp/pkg.tgz" -C "$dest" --strip-components=1
touch "$dest/.ok"
echo "$dest"
