#!/usr/bin/env bash
# Build the lab's base root filesystem tarball (Debian bookworm minbase + systemd + sshd + gdb +
# systemd-coredump), cached under $SEGBOT_LAB_CACHE keyed on the package list and this script.
# Prints the tarball path on stdout (with --path: only print it, build nothing). Idempotent: a
# cached tarball is reused as is.
#
# systemd-coredump is installed ONLY through systemd-nspawn inside the new root: its postinst
# writes kernel.core_pattern, and /proc/sys is read-only inside nspawn. Never chroot-install it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SEGBOT_LAB_CACHE:-/var/cache/segbot-lab}"
suite=bookworm
# debootstrap cannot resolve gdb's libboost-regex1.74.0 dependency by itself: list it explicitly.
packages="systemd,systemd-sysv,dbus,openssh-server,openssh-sftp-server,gdb,libboost-regex1.74.0,\
binutils,iproute2,procps,zstd,sudo,coreutils,libdw1,libelf1,ca-certificates"
inside_packages="systemd-coredump"

mirror="${SEGBOT_LAB_MIRROR:-}"
if [ -z "$mirror" ]; then
  # The first Debian (not -security) URI the machine's apt sources name.
  mirror="$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -Eo 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ')" || true
  mirror="${mirror:-http://deb.debian.org/debian}"
fi

# Bump recipe_version when the steps below change in a way that changes the result.
recipe_version=1
key="$(echo "$suite $packages $inside_packages $recipe_version" | sha256sum | cut -c1-16)"
tarball="$cache/rootfs-$suite-$key.tar.zst"
if [ "${1:-}" = --path ] || [ -s "$tarball" ]; then
  echo "$tarball"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.build.lock"
flock 9
if [ -s "$tarball" ]; then echo "$tarball"; exit 0; fi

work="$(mktemp -d "$cache/build.XXXXXX")"
cleanup() { umount -R "$work/root" 2>/dev/null || true; rm -rf --one-file-system "$work"; }
trap cleanup EXIT
start=$(date +%s)

debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" >&2

# Inside the container: /proc/sys is read-only, so systemd-coredump's postinst cannot touch the
# machine's kernel.core_pattern. --register=no --keep-unit: no system bus needed on the machine.
systemd-nspawn -q --register=no --keep-unit --resolv-conf=copy-host --timezone=off \
  -D "$work/root" --setenv=DEBIAN_FRONTEND=noninteractive \
  /bin/sh -c "apt-get -qq install -y --no-install-recommends $inside_packages >/dev/null \
    && apt-get clean && rm -rf /var/lib/apt/lists/*" >&2

root="$work/root"
# Per-host identity is created at boot by the lab: drop the build's host keys and machine-id.
rm -f "$root"/etc/ssh/ssh_host_* "$root"/var/lib/dbus/machine-id
: > "$root/etc/machine-id"
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/log/*.log "$root"/tmp/* 2>/dev/null || true

tar --numeric-owner --xattrs --acls -C "$root" -cf - . | zstd -q -T0 -3 -o "$tarball.tmp"
mv "$tarball.tmp" "$tarball"
echo "built $tarball in $(( $(date +%s) - start ))s" >&2
echo "$tarball"
