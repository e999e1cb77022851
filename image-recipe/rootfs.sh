#!/usr/bin/env bash
# The cached first stage of an image: Debian 13 (trixie) packages for one platform by
# mmdebstrap, then the initramfs, built once. Its output depends only on the package
# lists, the initramfs files, this script and the mirror, never on core/ or rootfs/, so
# a change there reuses it.
#   image-recipe/rootfs.sh <platform-dir> <debian-arch> <target-dir>
# Environment: SOURCE_DATE_EPOCH, HEARTH_DEBIAN_MIRROR, HEARTH_DEBIAN_SUITE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
platform_dir=$1 arch=$2 target=$3
suite=${HEARTH_DEBIAN_SUITE:-trixie}
mirror=${HEARTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}

packages=$(cat "$here/packages" "$platform_dir/packages" | sed 's/#.*//' | xargs | tr ' ' ,)
features=$platform_dir/apparmor-features

# update-initramfs is diverted to a no-op while packages install (the kernel, udev,
# kmod and others each trigger it) and run once at the end. The platform's initramfs
# configuration goes in before the kernel so that this one run sees it. The microcode
# packages (x86_64) would put into it only the build machine's CPU's microcode, or none for
# the other vendor (their "auto" mode): an image boots on any CPU, so it takes all of it.
#
# Left out of the root, besides docs, man pages and translations:
# - btrfs-progs' initramfs hook and boot script: the root slot is erofs and the data
#   partition ext4, yet they put the btrfs tool and module into the initramfs and scanned
#   for btrfs devices at every boot.
# - NetworkManager's device plugins for ADSL, Bluetooth, teaming and mobile broadband: it
#   loads each at every start, and none could do anything here (no br2684ctl, bluez,
#   teamd or ModemManager). Wired and WiFi are built in or kept.
# - the CPU microcode files (22 MiB on x86_64) once the initramfs holds them: Debian's
#   kernel loads microcode only early, from the initramfs (no CONFIG_MICROCODE_LATE_LOADING).
# - AppArmor profiles that apparmor.service would load before sysinit.target, and so before
#   hearthd: the apparmor package's own ~95, for desktop programs the box does not have
#   (even disabled, each cost the parser a process and a log line at boot), and LXC's
#   lxc-containers (lxc-default*), unused: hearthd's containers run under the profile LXC
#   generates for each (lxc.apparmor.profile = generated). The root is never changed by
#   dpkg, so they are simply removed.
# The profiles left (tor's, lxc-start's, lxc-copy's) are compiled here into
# /var/cache/apparmor for the AppArmor features of the platform's kernel
# (platforms/<platform>/apparmor-features, written on a booted box by `aa-features-abi -x`),
# so that the first boot loads them instead of compiling them while everything else starts.
# Should the kernel's features differ, the cache is in another directory (named by their
# hash) and the box compiles at boot, as without it.
# shellcheck disable=SC2016 # the hooks are expanded by mmdebstrap's shell
mmdebstrap --variant=apt --architectures="$arch" \
  --components=main,non-free-firmware \
  --include="$packages" \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/lib/*/NetworkManager/*/libnm-device-plugin-adsl.so' \
  --dpkgopt='path-exclude=/usr/lib/*/NetworkManager/*/libnm-device-plugin-bluetooth.so' \
  --dpkgopt='path-exclude=/usr/lib/*/NetworkManager/*/libnm-device-plugin-team.so' \
  --dpkgopt='path-exclude=/usr/lib/*/NetworkManager/*/libnm-device-plugin-wwan.so' \
  --dpkgopt='path-exclude=/usr/lib/*/NetworkManager/*/libnm-wwan.so' \
  --dpkgopt='path-exclude=/usr/share/initramfs-tools/hooks/btrfs' \
  --dpkgopt='path-exclude=/usr/share/initramfs-tools/scripts/local-premount/btrfs' \
  --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs' \
  --essential-hook='printf "#!/bin/sh\nexit 0\n" >"$1/usr/sbin/update-initramfs" && chmod 755 "$1/usr/sbin/update-initramfs"' \
  --essential-hook="mkdir -p \"\$1/etc/initramfs-tools\" && cp -r '$here/initramfs/.' '$platform_dir/initramfs/.' \"\$1/etc/initramfs-tools/\"" \
  --customize-hook='rm "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs' \
  --customize-hook='if [ -f "$1/etc/default/intel-microcode" ]; then printf "IUCODE_TOOL_INITRAMFS=early\nIUCODE_TOOL_SCANCPUS=no\n" >>"$1/etc/default/intel-microcode"; fi' \
  --customize-hook='if [ -f "$1/etc/default/amd64-microcode" ]; then echo AMD64UCODE_INITRAMFS=early >>"$1/etc/default/amd64-microcode"; fi' \
  --customize-hook='s=$(date +%s); chroot "$1" update-initramfs -c -k all >&2; echo "rootfs: initramfs built once in $(($(date +%s) - s)) s" >&2' \
  --customize-hook='rm -rf "$1"/usr/lib/firmware/intel-ucode "$1"/usr/lib/firmware/amd-ucode' \
  --customize-hook='for p in $(dpkg --root="$1" -L apparmor | sed -n "s|^/etc/apparmor.d/\([^/]*\)\$|\1|p") lxc-containers; do if [ -f "$1/etc/apparmor.d/$p" ]; then rm "$1/etc/apparmor.d/$p"; fi; done' \
  --customize-hook="if [ -f '$features' ]; then cp '$features' \"\$1/tmp/apparmor-features\" && chroot \"\$1\" apparmor_parser --kernel-features /tmp/apparmor-features --skip-kernel-load --write-cache -- /etc/apparmor.d && rm \"\$1/tmp/apparmor-features\"; fi" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb "$1"/var/log/* "$1"/var/cache/ldconfig/aux-cache' \
  "$suite" "$target" "$mirror"
