# replica tests (tests/replicas): HAProxy from Debian is the load balancer in front of the
# `segbot serve` replicas the tests start (each test runs its own haproxy on loopback; the
# package's own service is never left running).
if ! command -v haproxy >/dev/null 2>&1; then
  apt_install haproxy
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now haproxy >/dev/null 2>&1 || true
  fi
fi
