# The lab (tests/lab): real systemd hosts booted with systemd-nspawn. Installs the machine-side
# tools and builds (or reuses) the cached bookworm root filesystem tarball, keyed on its package
# list, under /var/cache/segbot-lab. Sourced by .ci/run (bash, root, set -euo pipefail).
# NEVER install systemd-coredump here: its postinst rewrites the machine's kernel.core_pattern;
# build_rootfs.sh installs it only inside the container, through systemd-nspawn.
apt_install systemd-container debootstrap zstd iproute2 openssh-client util-linux gcc libc6-dev
case "$(cat /proc/sys/kernel/core_pattern)" in
  "|"*) echo "30-lab.sh: kernel.core_pattern pipes to a helper; lab hosts will get no cores" >&2 ;;
esac
# Every lab host shares this kernel's log and its printk rate limit (10 lines per 5 s by
# default): a few crash-looping hosts would lose their "segfault at" lines. Raise the burst.
if [ "$(cat /proc/sys/kernel/printk_ratelimit_burst)" -lt 200 ]; then
  echo 200 > /proc/sys/kernel/printk_ratelimit_burst
fi
# Each booted host's systemd and journald hold inotify instances of the machine's kernel; the
# default 128 per user runs out with a dozen hosts up, and hosts then fail to boot.
if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 1024 ]; then
  echo 1024 > /proc/sys/fs/inotify/max_user_instances
fi
SEGBOT_LAB_ROOTFS_TARBALL="$(bash tests/lab/build_rootfs.sh)"
export SEGBOT_LAB_ROOTFS_TARBALL
echo "lab rootfs: ${SEGBOT_LAB_ROOTFS_TARBALL}"
