# x86_64 (UEFI mini-PCs, QEMU with OVMF): GPT; an EFI system partition with systemd-boot;
# root slots A and B; a data partition. Sourced by build.sh.
DEB_ARCH=amd64
PARTITION_TABLE=gpt
BOOT_MIB=256
ROOT_SLOT_MIB=1024
DATA_MIB=512

# Discoverable Partitions Specification types: the ESP, root (x86-64), Linux data.
partition_type() {
  case $1 in
    boot) echo C12A7328-F81F-11D2-BA4B-00A0C93EC93B ;;
    root-a | root-b) echo 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 ;;
    data) echo 0FC63DAF-8483-4772-8E79-3D69D8477DE4 ;;
  esac
}

# The ESP: systemd-boot as the removable-media loader (no EFI variables to set) and one
# entry per slot, its kernel and initramfs beside it. The entry's name carries the boot
# counter (`+3`): systemd-boot counts each try down and falls back when none are left;
# systemd-bless-boot drops the counter once hearthd is ready (hearth-boot-complete.service).
platform_boot_files() {
  local tree=$1 esp=$2
  mkdir -p "$esp/EFI/BOOT" "$esp/EFI/systemd" "$esp/loader/entries" "$esp/hearth/a"
  cp "$tree/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$esp/EFI/BOOT/BOOTX64.EFI"
  cp "$tree/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$esp/EFI/systemd/"
  cp "$KERNEL" "$esp/hearth/a/vmlinuz"
  cp "$INITRD" "$esp/hearth/a/initrd.img"
  printf 'timeout 0\ndefault hearth-*\neditor no\nconsole-mode keep\n' >"$esp/loader/loader.conf"
  cat >"$esp/loader/entries/hearth-a+3.conf" <<ENTRY
title Hearth
version $version (slot A)
sort-key hearth
linux /hearth/a/vmlinuz
initrd /hearth/a/initrd.img
options root=PARTUUID=$ROOT_A_PARTUUID $CMDLINE_COMMON console=tty0 console=ttyS0,115200
ENTRY
}
