#!/usr/bin/env bash
# Builds (once, cached under a key of this script) the arm64 Debian 12 root whose
# libraries qemu-user loads for out/hearth-arm64 (QEMU_LD_PREFIX). Node needs only the
# dynamic loader, libc, libstdc++ and libgcc_s, so the packages are just extracted:
# no maintainer scripts run, which also means no emulation while building it.
#   build/arm64-root.sh <cache-dir>   → prints the root directory
set -euo pipefail
cache=$1
suite=bookworm
packages=libc6,libstdc++6,libgcc-s1
key=$(sha256sum <"$0" | cut -c1-16)
root=$cache/arm64-root/$suite-$key
if [ -f "$root/.ok" ]; then echo "$root"; exit 0; fi

echo "arm64-root: extracting $packages from $suite into $root" >&2
rm -rf "$root" && mkdir -p "$(dirname "$root")"
# No mirror named: mmdebstrap uses Debian's default; HEARTH_DEBIAN_MIRROR overrides it.
mmdebstrap --quiet --architectures=arm64 --variant=extract --include="$packages" \
  "$suite" "$root" ${HEARTH_DEBIAN_MIRROR:+"$HEARTH_DEBIAN_MIRROR"} >&2
[ -e "$root/lib/ld-linux-aarch64.so.1" ] || { echo "arm64-root.sh: no dynamic loader in $root" >&2; exit 1; }
touch "$root/.ok"
echo "$root"
