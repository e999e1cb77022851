#!/usr/bin/env bash
# The baseline of the boot-time figure: a copy of a Hearth x86_64 image whose root slot A
# holds a bare Debian 13 instead (minbase, systemd, udev, and the modules of the image's
# kernel), so that the same firmware, boot loader, kernel and initramfs boot it. Once
# multi-user.target is reached it says "hearth-bare: multi-user" on the serial console.
#   image-recipe/bare.sh <hearth-<version>-x86_64.img> <out.img> <cache-dir>
# The Debian tree is cached under <cache-dir>/image by a key of this script and the mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=$1 out=$2 cache=$3
PLATFORM=bare-x86_64
# shellcheck source=lib.sh
. "$here/lib.sh"
suite=${HEARTH_DEBIAN_SUITE:-trixie}
mirror=${HEARTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}

# It reads the x86_64 stage, which an x86_64 build may be replacing.
lock_cache "$cache" x86_64
tree=$cache/image/bare-x86_64-$(key "$here/bare.sh" -s "$suite $mirror")
if [ ! -f "$tree/.ok" ]; then
  remove_trees "$cache/image/bare-x86_64-"*
  mmdebstrap --variant=minbase --include=systemd,systemd-sysv,udev,kmod \
    --aptopt='Acquire::Languages "none"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    "$suite" "$tree" "$mirror" 2>&1 | grep -v '^I: ' >&2 || true
  [ -x "$tree/usr/bin/systemctl" ] || { log "mmdebstrap failed"; exit 1; }
  touch "$tree/.ok"
fi

# The kernel's modules come from the Hearth image's own Debian stage.
stage=$(find "$cache/image" -maxdepth 1 -name 'rootfs-x86_64-*' -type d | head -1)
[ -d "$stage/usr/lib/modules" ] || { log "no x86_64 image stage in $cache/image: build the image first"; exit 1; }

work=$(mktemp -d "$cache/image/bare-work.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -a "$tree" "$work/tree" && rm "$work/tree/.ok"
cp -a "$stage/usr/lib/modules" "$work/tree/usr/lib/"
# The same initramfs mounts the data partition and the /etc and /var overlays here too.
mkdir -p "$work/tree/data" "$work/tree/efi" "$work/tree/var/lib/hearth"
echo uninitialized >"$work/tree/etc/machine-id"
echo hearth-bare >"$work/tree/etc/hostname"
cat >"$work/tree/etc/systemd/system/hearth-bare-ready.service" <<'UNIT'
[Unit]
Description=Say on the serial console that multi-user.target is reached
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "hearth-bare: multi-user" >/dev/ttyS0'

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$work/tree/etc/systemd/system/multi-user.target.wants"
ln -s ../hearth-bare-ready.service "$work/tree/etc/systemd/system/multi-user.target.wants/"
mkfs.erofs --quiet -zlz4hc,9 -T"$SOURCE_DATE_EPOCH" "$work/root.img" "$work/tree" >/dev/null

read -r start size < <(sfdisk --json "$image" | python3 -c \
  'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][1]; print(p["start"], p["size"])')
[ "$(stat -c %s "$work/root.img")" -le $((size * 512)) ] || { log "the bare root does not fit slot A"; exit 1; }
cp --sparse=always "$image" "$out.tmp"
# Slot A emptied first (a hole), so that the zeros `dd conv=sparse` skips read as zeros.
fallocate --punch-hole --keep-size --offset $((start * 512)) --length $((size * 512)) "$out.tmp"
dd if="$work/root.img" of="$out.tmp" bs=1M seek=$((start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
mv "$out.tmp" "$out"
log "bare Debian root $(mib "$(stat -c %s "$work/root.img")") MiB in slot A of $out"
