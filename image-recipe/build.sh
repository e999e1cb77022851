#!/usr/bin/env bash
# Builds a Hearth OS image for one platform, as one ordered list of named steps, each
# logged with its duration:
#   rootfs → overlay → deb → initramfs → boot-files → filesystems → partition-table → compress
#   image-recipe/build.sh <platform> <hearth .deb> <out-dir> <cache-dir>
# → <out-dir>/hearth-<version>-<platform>.img (raw, for `make vm`), .img.zst (or .img.xz
# with COMPRESS=xz) and its .sha256.
# What differs per platform is in platforms/<platform>/platform.sh (sizes, partition
# types, the kernel command line, the boot files); everything else is here.
# No loop devices and no mounts: filesystems are made from directories (mkfs.erofs,
# mkfs.ext4 -d, mtools) and written into the image file with dd. Reproducible: fixed
# UUIDs, every timestamp SOURCE_DATE_EPOCH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
PLATFORM=$1 deb=$(realpath "$2") out=$3 cache=$4
platform_dir=$here/platforms/$PLATFORM
[ -f "$platform_dir/platform.sh" ] || { echo "build.sh: no platform $PLATFORM (platforms/*)" >&2; exit 2; }
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=/dev/null
. "$platform_dir/platform.sh"

version=$(dpkg-deb -f "$deb" Version)
# Default: the last commit's time, so that the same commit gives the same image.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)}
export HEARTH_DEBIAN_MIRROR=${HEARTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export HEARTH_DEBIAN_SUITE=${HEARTH_DEBIAN_SUITE:-trixie}
COMPRESS=${COMPRESS:-zstd}
name=hearth-$version-$PLATFORM
work=$cache/image/work-$PLATFORM
tree=$work/tree
mkdir -p "$out" "$cache/image"
lock_cache "$cache" "$PLATFORM"

# Fixed identifiers, the same for every build of a platform: derived from names, so
# nothing random ends up in the image. (Every Hearth disk of a platform has the same
# ones; the daemon tells disks apart by more than these.)
uuid() {
  local h
  h=$(printf 'hearth/%s/%s' "$PLATFORM" "$1" | sha256sum)
  printf '%s-%s-4%s-a%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "${h:17:3}" "${h:20:12}"
}
hex32() { printf 'hearth/%s/%s' "$PLATFORM" "$1" | sha256sum | cut -c1-8; }
# The PARTUUID of partition number $1: GPT gives each its own; an MBR's is <disk id>-<nn>.
partuuid() {
  if [ "$PARTITION_TABLE" = gpt ]; then uuid "partition-$1"; else printf '%s-%02x\n' "$(hex32 disk)" "$1"; fi
}
# Partition numbers: 1 boot (FAT), 2 root slot A, 3 root slot B, 4 data.
ROOT_A_PARTUUID=$(partuuid 2)
DATA_PARTUUID=$(partuuid 4)
# What every platform's kernel command line carries; platform.sh adds its console.
CMDLINE_COMMON="rootfstype=erofs ro hearth.data=PARTUUID=$DATA_PARTUUID quiet loglevel=3 systemd.show_status=error"

rootfs_key=$(key "$here/rootfs.sh" "$here/packages" "$platform_dir/packages" "$here/initramfs" \
  "$platform_dir/initramfs" "$platform_dir/apparmor-features" -s "$HEARTH_DEBIAN_SUITE $HEARTH_DEBIAN_MIRROR $DEB_ARCH")
rootfs=$cache/image/rootfs-$PLATFORM-$rootfs_key

step_rootfs() {
  if [ -f "$rootfs/.ok" ]; then log "rootfs: cached ($rootfs)"; return; fi
  # Older stages of this platform are dead weight: one is kept. (The lock taken above
  # keeps a concurrent build of this platform from using one meanwhile.)
  remove_trees "$cache/image/rootfs-$PLATFORM-"*
  "$here/rootfs.sh" "$platform_dir" "$DEB_ARCH" "$rootfs" 2>&1 | grep -v '^I: ' >&2 || true
  [ -x "$rootfs/usr/bin/systemctl" ] || { log "rootfs: mmdebstrap failed"; exit 1; }
  touch "$rootfs/.ok"
}

step_overlay() {
  remove_trees "$work" && mkdir -p "$work"
  cp -a --reflink=auto "$rootfs" "$tree" && rm "$tree/.ok"
  # rootfs/ as root's files, whoever checked it out.
  tar -C "$repo/rootfs" --owner=0 --group=0 -c . | tar -C "$tree" -x
  # Mount points on the read-only root (see initramfs/scripts/local-bottom/hearth).
  mkdir -p "$tree/data" "$tree/efi"
  # systemd writes a new id on first boot, into /etc's overlay on the data partition.
  echo uninitialized >"$tree/etc/machine-id"
  echo hearth >"$tree/etc/hostname"
  # NetworkManager ignores a connection file that others may read ("insecure").
  chmod 0600 "$tree"/usr/lib/NetworkManager/system-connections/*.nmconnection
  # The root is read-only and never updated in place, so the first boot has nothing to
  # catch up on (ldconfig, the journal catalog): /usr is no newer than these stamps.
  touch -d "@$SOURCE_DATE_EPOCH" "$tree/etc/.updated" "$tree/var/.updated"
  # systemd-boot-random-seed holds sysinit.target until the ESP is mounted (seconds on slow
  # storage) to refresh the loader's seed; the kernel seeds itself from the CPU's and the
  # board's RNGs, and systemd-random-seed keeps its own seed on the data partition.
  ln -s /dev/null "$tree/etc/systemd/system/systemd-boot-random-seed.service"
  # Two module loads that every boot ran for nothing here: FUSE is built into Debian's
  # kernel (modprobe@fuse loads nothing, for the price of a modprobe), and logind's early
  # modprobe@drm is for graphical seats (a GPU's driver, if any, still loads DRM with it).
  ln -s /dev/null "$tree/etc/systemd/system/modprobe@fuse.service"
  ln -s /dev/null "$tree/etc/systemd/system/modprobe@drm.service"
  # NetworkManager has D-Bus start its dispatcher for every device and hostname event, to
  # run the scripts in /etc/NetworkManager/dispatcher.d: the image has none, and the first
  # boot started it twice while hearthd was starting. Masked, NetworkManager's calls fail at
  # once (logged at debug level only).
  ln -s /dev/null "$tree/etc/systemd/system/NetworkManager-dispatcher.service"
  # mmdebstrap copied this machine's; NetworkManager writes the box's own.
  rm -f "$tree/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\thearth\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$tree/etc/hosts"
  # The root slot and the data partition are mounted by the initramfs; the boot
  # partition only when something reads it (systemd-bless-boot, an OS update).
  printf 'PARTUUID=%s\t/efi\tvfat\tumask=0077,noauto,x-systemd.automount,x-systemd.idle-timeout=30s\t0\t2\n' \
    "$(partuuid 1)" >"$tree/etc/fstab"
}

step_deb() {
  # Chrootless: dpkg of this machine installs into the tree and the maintainer scripts
  # run here with DPKG_ROOT set (debian/postinst honours it), so no chroot, no mounts.
  dpkg --root="$tree" --force-script-chrootless --log=/dev/null --no-triggers -i "$deb" >/dev/null
  rm -f "$tree/var/lib/dpkg/"*-old
  # The presets in rootfs/ decide which units run; apply them to the units they name.
  # (A platform may lack some of them, like systemd-boot's on the Pi.)
  local unit units=()
  for unit in $(sed -n 's/^\(enable\|disable\) \([^ ]*\).*/\2/p' "$repo"/rootfs/usr/lib/systemd/system-preset/*.preset); do
    [ ! -e "$tree/usr/lib/systemd/system/$unit" ] || units+=("$unit")
  done
  systemctl --root="$tree" --quiet preset "${units[@]}"
}

step_initramfs() {
  # Built once at the end of the rootfs step (it depends only on the packages and
  # initramfs/), so a new .deb or a change in rootfs/ reuses it.
  local initrd
  initrd=$(find "$tree/boot" -name 'initrd.img-*' | head -1)
  [ -s "$initrd" ] || { log "initramfs: none in the rootfs"; exit 1; }
  log "initramfs: $(basename "$initrd"), $(mib "$(stat -c %s "$initrd")") MiB"
  KERNEL=$(find "$tree/boot" -name 'vmlinuz-*' | head -1)
  INITRD=$initrd
}

step_boot_files() {
  mkdir -p "$work/boot"
  platform_boot_files "$tree" "$work/boot"
  # The slot's kernel and initramfs are read from the boot partition, never from the root
  # slot: its copies in /boot (and the Pi's /boot/firmware) would be 60 MiB of dead weight
  # there. /boot/config-* stays (lxc-checkconfig reads it).
  rm -f "$tree"/boot/vmlinuz-* "$tree"/boot/initrd.img-* "$tree"/vmlinuz* "$tree"/initrd.img*
  if [ -d "$tree/boot/firmware" ]; then find "$tree/boot/firmware" -mindepth 1 -delete; fi
}

step_filesystems() {
  # Every file's time is SOURCE_DATE_EPOCH (erofs -T does it for the root slot; the
  # FAT takes the sources' mtimes).
  find "$work/boot" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  local start=$EPOCHREALTIME
  mkfs.erofs --quiet -zlz4hc,9 -T"$SOURCE_DATE_EPOCH" -U"$(uuid fs-root)" \
    "$work/root.img" "$tree" >/dev/null
  log "filesystems: root slot erofs $(mib "$(stat -c %s "$work/root.img")") MiB in $(elapsed "$start") s"
  [ "$(stat -c %s "$work/root.img")" -le $((ROOT_SLOT_MIB * 1048576)) ] ||
    { log "the root filesystem does not fit a ${ROOT_SLOT_MIB} MiB slot"; exit 1; }

  rm -f "$work/boot.img"
  mkfs.fat -F 32 -n HEARTH-BOOT --invariant -C "$work/boot.img" $((BOOT_MIB * 1024)) >/dev/null
  # -m keeps the sources' times; mtools stamps the directories it makes with them too.
  (cd "$work/boot" && MTOOLS_SKIP_CHECK=1 mcopy -s -m -Q -i "$work/boot.img" ./* ::/)

  mkdir -p "$work/data/os" "$work/data/hearth"
  chmod 0700 "$work/data/hearth"
  touch -d "@$SOURCE_DATE_EPOCH" "$work/data" "$work/data/os" "$work/data/hearth"
  rm -f "$work/data.img" && truncate -s "${DATA_MIB}M" "$work/data.img"
  E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -L hearth-data -U "$(uuid fs-data)" \
    -E "hash_seed=$(uuid fs-data-hash),root_owner=0:0" -d "$work/data" "$work/data.img" "${DATA_MIB}M"
  # mke2fs -d copies each inode's ctime from its source, which only the clock sets.
  local dir
  for dir in / /os /hearth /lost+found; do
    E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH debugfs -w -R "sif $dir ctime @$SOURCE_DATE_EPOCH" "$work/data.img" >/dev/null 2>&1
  done
}

step_partition_table() {
  local mb=2048 # sectors in a MiB
  local boot=$mb root_a=$((mb + BOOT_MIB * mb))
  local root_b=$((root_a + ROOT_SLOT_MIB * mb)) data=$((root_a + 2 * ROOT_SLOT_MIB * mb))
  local end=$((data + DATA_MIB * mb))
  img=$out/$name.img
  rm -f "$img" && truncate -s $(((end + mb) * 512)) "$img"
  {
    echo "label: $PARTITION_TABLE"
    if [ "$PARTITION_TABLE" = gpt ]; then echo "label-id: $(uuid disk)"; else echo "label-id: 0x$(hex32 disk)"; fi
    echo "unit: sectors"
    partition_line 1 $boot $((BOOT_MIB * mb)) boot
    partition_line 2 $root_a $((ROOT_SLOT_MIB * mb)) root-a
    partition_line 3 $root_b $((ROOT_SLOT_MIB * mb)) root-b
    partition_line 4 $data $((DATA_MIB * mb)) data
  } | sfdisk --quiet --no-reread --no-tell-kernel "$img"
  dd if="$work/boot.img" of="$img" bs=1M seek=$((boot / mb)) conv=notrunc,sparse status=none
  dd if="$work/root.img" of="$img" bs=1M seek=$((root_a / mb)) conv=notrunc,sparse status=none
  dd if="$work/data.img" of="$img" bs=1M seek=$((data / mb)) conv=notrunc,sparse status=none
}

# One line of the sfdisk script: number, start, size, role (boot, root-a, root-b, data).
partition_line() {
  local n=$1 start=$2 size=$3 role=$4 type
  type=$(partition_type "$role")
  if [ "$PARTITION_TABLE" = gpt ]; then
    echo "start=$start, size=$size, type=$type, uuid=$(partuuid "$n"), name=\"hearth-$role\""
  else
    echo "start=$start, size=$size, type=$type"
  fi
}

step_compress() {
  local f
  case $COMPRESS in
    zstd) f=$img.zst; zstd -q -T0 -3 -f "$img" -o "$f" ;;
    xz) f=$img.xz; xz -T0 -6 -k -f -c "$img" >"$f" ;;
    *) log "COMPRESS is zstd or xz"; exit 2 ;;
  esac
  (cd "$out" && sha256sum "$(basename "$f")" >"$(basename "$f").sha256")
  log "compress: $(basename "$f") $(mib "$(stat -c %s "$f")") MiB (image $(mib "$(stat -c %s "$img")") MiB)"
  rm -rf "$work"
}

total=$EPOCHREALTIME
step rootfs step_rootfs
step overlay step_overlay
step deb step_deb
step initramfs step_initramfs
step boot-files step_boot_files
step filesystems step_filesystems
step partition-table step_partition_table
step compress step_compress
log "image $name built in $(elapsed "$total") s"
