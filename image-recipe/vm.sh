#!/usr/bin/env bash
# Boots a Hearth image in QEMU, as `make vm` and the VM tests do:
#   image-recipe/vm.sh <image.img> <vm-dir>
# x86_64 images boot with OVMF; raspberrypi images with AAVMF on -M virt, through the
# EFI loader on their boot partition (the closest to a Pi that QEMU gets). The VM writes to
# its own copy of the image in <vm-dir> (made anew when the image is newer, so the box keeps
# its state between runs of the same image), grown to VM_DISK_SIZE so that the data
# partition grows on first boot; a second, empty virtual disk is the data drive to choose
# at setup. QMP on <vm-dir>/qmp.sock (tests power the VM off through it). The box's port 80 is http://localhost:$VM_HTTP_PORT, 443 https://localhost:$VM_HTTPS_PORT.
# Environment: VM_HTTP_PORT (8080), VM_HTTPS_PORT (8443), VM_MEMORY (MiB, 2048), VM_CPUS (2),
#   VM_DISK_SIZE (8G), VM_DATA_DISK_SIZE (8G), VM_CONSOLE (stdio, or a file for the serial log),
#   VM_FRESH=1 (start from the image again), VM_NO_REBOOT=1 (QEMU exits when the guest resets), VM_ACCEL (software emulation; kvm where it works).
set -euo pipefail
image=$(realpath "$1") dir=$2
mkdir -p "$dir"
dir=$(realpath "$dir")
http=${VM_HTTP_PORT:-8080} https=${VM_HTTPS_PORT:-8443}
console=${VM_CONSOLE:-stdio}

case $image in
  *-raspberrypi.img)
    qemu=qemu-system-aarch64
    machine=(-machine virt -cpu cortex-a72)
    code=/usr/share/AAVMF/AAVMF_CODE.fd vars=/usr/share/AAVMF/AAVMF_VARS.fd
    tcg=tcg,thread=multi
    ;;
  *)
    qemu=qemu-system-x86_64
    machine=(-machine q35 -cpu max)
    code=/usr/share/OVMF/OVMF_CODE_4M.fd vars=/usr/share/OVMF/OVMF_VARS_4M.fd
    # One TCG thread: with one per vCPU an x86 guest kernel sometimes panics on an int3
    # left by its own code patching (seen at boot as "Oops: int3" in kfree).
    tcg=tcg,thread=single
    ;;
esac
# Software emulation by default: the build machines have a /dev/kvm that QEMU cannot use
# (it aborts setting an MSR). VM_ACCEL=kvm where KVM works.
accel=${VM_ACCEL:-$tcg}

if [ -n "${VM_FRESH:-}" ] || [ ! -f "$dir/disk.img" ] || [ "$image" -nt "$dir/disk.img" ]; then
  echo "vm: a fresh copy of $(basename "$image") in $dir" >&2
  rm -f "$dir/disk.img" "$dir/data.qcow2" "$dir/efivars.fd"
  cp --sparse=always "$image" "$dir/disk.img.tmp"
  truncate -s "${VM_DISK_SIZE:-8G}" "$dir/disk.img.tmp"
  mv "$dir/disk.img.tmp" "$dir/disk.img"
fi
[ -f "$dir/data.qcow2" ] || qemu-img create -q -f qcow2 "$dir/data.qcow2" "${VM_DATA_DISK_SIZE:-8G}"
[ -f "$dir/efivars.fd" ] || cp "$vars" "$dir/efivars.fd"

if [ "$console" = stdio ]; then
  io=(-nographic)
  echo "vm: serial console below; Ctrl-A X quits QEMU. The box: http://localhost:$http" >&2
else
  io=(-display none -monitor none -serial "file:$console")
fi
exec "$qemu" "${machine[@]}" -accel "$accel" -smp "${VM_CPUS:-2}" -m "${VM_MEMORY:-2048}" \
  -drive "if=pflash,format=raw,readonly=on,file=$code" \
  -drive "if=pflash,format=raw,file=$dir/efivars.fd" \
  -drive "file=$dir/disk.img,format=raw,if=virtio,discard=unmap" \
  -drive "file=$dir/data.qcow2,format=qcow2,if=virtio" \
  -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$http-:80,hostfwd=tcp:127.0.0.1:$https-:443" \
  -device virtio-net-pci,netdev=net0 \
  -device virtio-rng-pci \
  -qmp "unix:$dir/qmp.sock,server=on,wait=off" \
  ${VM_NO_REBOOT:+-no-reboot} "${io[@]}"
