#!/usr/bin/env bash
# CI check of the Debian package: build it around an existing binary, install it with
# dpkg -i, start the installed binary as the packaged user with the packaged configuration
# (no systemd needed), check /healthz, /readyz and where the state went, then purge it.
#
#   GARDIEN_BIN=target/debug/gardien bash packaging/test-deb.sh
#
# Prints SKIP (exit 0) when it cannot run here: not root, or no dpkg.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ] || ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "SKIP packaging/test-deb.sh: needs root and dpkg"
  exit 0
fi
export GARDIEN_BIN=${GARDIEN_BIN:-target/debug/gardien}
fail() { echo "FAIL packaging/test-deb.sh: $*" >&2; exit 1; }
deb=$(bash packaging/build-deb.sh target/debian | tail -n1)
[ -f "$deb" ] || fail "no package built"
# Outputs are captured before matching: with pipefail, `producer | grep -q` fails at random
# when grep exits at the first match and the producer dies of SIGPIPE.
info=$(dpkg-deb --info "$deb") || fail "dpkg-deb --info"
grep -q "Package: gardien" <<<"$info" || fail "control file"
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}') || fail "dpkg-deb --contents"
for f in ./usr/bin/gardien ./etc/gardien/gardien.toml ./lib/systemd/system/gardien.service \
         ./usr/share/man/man1/gardien.1.gz ./usr/share/doc/gardien/copyright; do
  grep -qx "$f" <<<"$contents" || fail "$f missing from the package"
done
# A leftover from an earlier run would hide a broken postinst.
dpkg --purge gardien >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >/dev/null || fail "dpkg -i"
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  dpkg --purge gardien >/dev/null 2>&1 || true
}
trap cleanup EXIT
getent passwd gardien >/dev/null || fail "no gardien user"
[ "$(stat -c %U /var/lib/gardien)" = gardien ] || fail "/var/lib/gardien is not the gardien user's"
version=$(/usr/bin/gardien --version) || fail "gardien --version"
grep -q '^gardien ' <<<"$version" || fail "gardien --version"
man=$(zcat /usr/share/man/man1/gardien.1.gz) || fail "man page unreadable"
grep -q '^.SH "GARDIEN SERVE"' <<<"$man" || fail "man page lacks serve"
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify /lib/systemd/system/gardien.service 2>&1 | grep -v 'Failed to' || true
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
runuser -u gardien -- /usr/bin/gardien serve --config /etc/gardien/gardien.toml \
  --listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
  [ "$code" = 200 ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "the installed gardien exited"; }
  sleep 0.1
done
[ "$code" = 200 ] || { cat "$log" >&2; fail "/healthz answered $code"; }
ready=$(curl -s "http://127.0.0.1:$port/readyz") || fail "/readyz"
grep -q '"status":"ready"' <<<"$ready" || fail "/readyz"
# Fail closed out of the box: no application mapped, no identity configured.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/forward-auth")
[ "$code" = 403 ] || [ "$code" = 401 ] || fail "forward-auth answered $code out of the box"
[ -f /var/lib/gardien/gardien.db ] || fail "the store is not in /var/lib/gardien"
[ "$(stat -c %U /var/lib/gardien/gardien.db)" = gardien ] || fail "the store is not the gardien user's"
echo "packaging/test-deb.sh: installed $(basename "$deb"), served /healthz on 127.0.0.1:$port as user gardien"
