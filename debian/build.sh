#!/usr/bin/env bash
# Builds the Debian package of Hearth with dpkg-deb alone (no debhelper):
#   debian/build.sh <x86_64|arm64> <hearth binary> <out-dir>   → prints the .deb's path
# The .deb holds /usr/bin/hearth (+ the hearthd link), the systemd unit (kept in rootfs/,
# where its test reads it), the default config and the NetworkManager snippet. Its
# Depends: are what the daemon drives at run time. Reproducible: every mtime is
# SOURCE_DATE_EPOCH (default: the last commit's time) and owners are root.
set -euo pipefail
arch=$1 binary=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

case $arch in
  x86_64) deb_arch=amd64 ;;
  arm64) deb_arch=arm64 ;;
  *) echo "debian/build.sh: unknown architecture $arch" >&2; exit 2 ;;
esac
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json")
[ -n "$version" ] || { echo "debian/build.sh: no version in package.json" >&2; exit 1; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkg=$tmp/pkg
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/lib/systemd/system" "$pkg/usr/share/doc/hearth"
install -m 0755 "$binary" "$pkg/usr/bin/hearth"
ln -s hearth "$pkg/usr/bin/hearthd"
install -m 0644 "$repo/rootfs/usr/lib/systemd/system/hearth.service" "$pkg/usr/lib/systemd/system/"
cp -r "$here/files/." "$pkg/"
printf 'Hearth %s. See https://hearth.local/ on the box, or the project README.\n' "$version" \
  >"$pkg/usr/share/doc/hearth/README"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$pkg/DEBIAN/"
install -m 0644 "$here/conffiles" "$pkg/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$deb_arch/" -e "s/@SIZE@/$size/" "$here/control.in" \
  >"$pkg/DEBIAN/control"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum | sed 's| \./| |') \
  >"$pkg/DEBIAN/md5sums"
chmod -R u+rwX,go+rX,go-w "$pkg"
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/hearth_${version}_$deb_arch.deb
# Written aside and renamed: an image build reading the old one never sees half a file.
# zstd at dpkg-deb's default level: ~1 s for the 110 MB binary, where -z19 took 23-47 s on
# the 2-core build machine for a .deb 20 % smaller (40 against 31 MB); xz is slower still.
# dpkg reads zstd members since 1.21.18: Debian 12's (which installs it into the image,
# chrootless) and Debian 13's alike.
dpkg-deb --root-owner-group -Zzstd --threads-max=2 --build "$pkg" "$deb.tmp" >/dev/null
mv "$deb.tmp" "$deb"
echo "$deb"
