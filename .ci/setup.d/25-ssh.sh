# diagnose: a real OpenSSH sshd (started by the tests themselves on a free loopback port, never as
# the system service) and the OpenSSH client (bench/diagnose.py's ControlMaster baseline).
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null 2>&1; then
  apt_install openssh-server openssh-client
  # Debian enables and starts ssh.service on install; the tests start their own sshd instead.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled ssh >/dev/null 2>&1; then
    systemctl disable --now ssh >/dev/null 2>&1 || true
  fi
fi
mkdir -p /run/sshd
