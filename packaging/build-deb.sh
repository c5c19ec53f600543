#!/usr/bin/env bash
# Builds the gardien Debian package: the binary, /etc/gardien/gardien.toml, a hardened
# systemd unit, a `gardien` system user (postinst), state under /var/lib/gardien, a man page
# rendered from `gardien --help`, the README, licence and examples.
#
#   bash packaging/build-deb.sh [OUT_DIR]        # release build, package in OUT_DIR (default target/debian)
#   GARDIEN_BIN=target/debug/gardien bash packaging/build-deb.sh   # package an existing binary
#
# Needs dpkg-deb (Debian's dpkg) and nothing else; no cargo plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/debian}
bin=${GARDIEN_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -p gardien
  bin=target/release/gardien
fi
[ -x "$bin" ] || { echo "build-deb: $bin is not an executable" >&2; exit 1; }
version=$(awk -F'"' '/^version = "/{print $2; exit}' Cargo.toml)
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
pkg="$root/gardien_${version}_${arch}"

install -D -m 0755 "$bin" "$pkg/usr/bin/gardien"
install -D -m 0640 packaging/deb/gardien.toml "$pkg/etc/gardien/gardien.toml"
install -d -m 0750 "$pkg/etc/gardien/tenant"
install -D -m 0644 packaging/deb/gardien.service "$pkg/lib/systemd/system/gardien.service"
doc="$pkg/usr/share/doc/gardien"
install -D -m 0644 README.md "$doc/README.md"
install -D -m 0644 LICENSE "$doc/copyright"
install -D -m 0644 CHANGELOG.md "$doc/CHANGELOG.md"
install -D -m 0644 examples/gardien.toml "$doc/examples/gardien.toml"
for f in examples/nginx/gardien.conf examples/caddy/Caddyfile examples/haproxy/haproxy.cfg examples/haproxy/gardien.lua; do
  [ -f "$f" ] && install -D -m 0644 "$f" "$doc/$f"
done
cp -r docs "$doc/docs"

# The man page: `gardien --help` and every command's help, as preformatted sections.
man="$root/gardien.1"
{
  echo ".TH GARDIEN 1 \"\" \"gardien $version\" \"User Commands\""
  echo ".SH NAME"
  echo "gardien \\- Microsoft Entra Conditional Access, offline and in front of any app"
  echo ".SH SYNOPSIS"
  echo ".B gardien"
  echo "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]"
  echo ".SH DESCRIPTION"
  echo ".nf"
  "$bin" --help | sed 's/\\/\\\\/g; s/^\./\\\&./'
  echo ".fi"
  for cmd in $("$bin" --help | awk '/^Commands:/{f=1;next} /^$/{f=0} f{print $1}' | grep -v '^help$'); do
    echo ".SH \"GARDIEN ${cmd^^}\""
    echo ".nf"
    "$bin" "$cmd" --help | sed 's/\\/\\\\/g; s/^\./\\\&./'
    echo ".fi"
  done
  echo ".SH FILES"
  echo "/etc/gardien/gardien.toml, /var/lib/gardien/gardien.db"
  echo ".SH SEE ALSO"
  echo "/usr/share/doc/gardien/README.md, /usr/share/doc/gardien/docs/"
} > "$man"
install -d "$pkg/usr/share/man/man1"
gzip -9n -c "$man" > "$pkg/usr/share/man/man1/gardien.1.gz"

install -d "$pkg/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "packaging/deb/$s" "$pkg/DEBIAN/$s"; done
echo "/etc/gardien/gardien.toml" > "$pkg/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: gardien
Version: $version
Section: net
Priority: optional
Architecture: $arch
Maintainer: gardien developers <gardien@users.noreply.github.com>
Installed-Size: $size
Depends: adduser, libc6
Homepage: https://github.com/gardien-ca/gardien
Description: Conditional Access engine with Microsoft Entra ID semantics
 gardien decides, explains and analyses sign-ins as Microsoft Entra Conditional
 Access would, from the Graph JSON admins export, and enforces the decision in
 front of any application (nginx, Caddy, HAProxy, Traefik, Envoy forward-auth).
CONTROL
mkdir -p "$out"
dpkg-deb --root-owner-group --build "$pkg" "$out/" >/dev/null
echo "$out/gardien_${version}_${arch}.deb"
