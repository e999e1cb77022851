# Raspberry Pi (arm64): Debian's raspi layout, an MBR with the FAT firmware partition
# first; root slots A and B; a data partition. Sourced by build.sh.
# The Pi firmware reads config.txt (or tryboot.txt, for one boot, after `reboot "0 tryboot"`)
# from the FAT. `os_prefix=a/` there makes it load the kernel, initramfs, cmdline.txt and
# DTBs of slot A from a/; tryboot.txt names b/. A slot is marked good by making config.txt
# name it (the update copies tryboot.txt over config.txt once hearthd is ready on the
# trial boot); a trial that fails never touches config.txt, so the next boot is the old
# slot. On the same FAT, systemd-boot's arm64 EFI loader boots slot A in QEMU's -M virt,
# which the Pi firmware ignores.
DEB_ARCH=arm64
PARTITION_TABLE=dos
BOOT_MIB=512
ROOT_SLOT_MIB=1024
DATA_MIB=512

partition_type() {
  case $1 in
    boot) echo c ;;
    root-a | root-b | data) echo 83 ;;
  esac
}

platform_boot_files() {
  local tree=$1 fat=$2 kver
  kver=$(basename "$KERNEL" | sed 's/^vmlinuz-//')
  # What raspi-firmware's hooks wrote: the firmware, config.txt, cmdline.txt, the kernel,
  # the initramfs and the DTBs.
  cp -r "$tree/boot/firmware/." "$fat/"
  mkdir -p "$fat/a" "$fat/b"
  mv "$fat"/vmlinuz-* "$fat"/initrd.img-* "$fat/cmdline.txt" "$fat/a/"
  mv "$fat"/*.dtb "$fat/a/"
  [ ! -d "$fat/overlays" ] || mv "$fat/overlays" "$fat/a/"
  # The slot's root and the data partition, with the console the hook chose.
  sed -i -E "s#root=[^ ]*#root=PARTUUID=$ROOT_A_PARTUUID#; s#(rootfstype=[^ ]* ?|rw )##g; s#\$# $CMDLINE_COMMON#; s#  +# #g" \
    "$fat/a/cmdline.txt"
  printf '\n[all]\nos_prefix=a/\n' >>"$fat/config.txt"
  sed 's#^os_prefix=a/$#os_prefix=b/#' "$fat/config.txt" >"$fat/tryboot.txt"

  mkdir -p "$fat/EFI/BOOT" "$fat/loader/entries"
  cp "$tree/usr/lib/systemd/boot/efi/systemd-bootaa64.efi" "$fat/EFI/BOOT/BOOTAA64.EFI"
  printf 'timeout 0\ndefault hearth-*\neditor no\n' >"$fat/loader/loader.conf"
  # EFI loads the kernel as a PE image: Debian's arm64 vmlinuz is a gzip'd Image, whose
  # uncompressed form carries the EFI stub.
  local linux=/a/vmlinuz-$kver
  if [ "$(head -c 2 "$KERNEL")" != MZ ]; then
    zcat "$KERNEL" >"$fat/a/Image-$kver"
    linux=/a/Image-$kver
  fi
  cat >"$fat/loader/entries/hearth-a.conf" <<ENTRY
title Hearth (QEMU)
version $version (slot A)
linux $linux
initrd /a/initrd.img-$kver
options root=PARTUUID=$ROOT_A_PARTUUID $CMDLINE_COMMON console=ttyAMA0
ENTRY
}
