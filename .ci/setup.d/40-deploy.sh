# deploy tests (tests/deploy): visudo and the real sudo (sudoers checks in a mount namespace),
# promtool (rule unit tests), amtool and Alertmanager itself (delivery to a real segbot serve on
# loopback, started by the tests). The Debian packages' own services are never left running.
deploy_need=()
command -v visudo >/dev/null 2>&1 || deploy_need+=(sudo)
command -v promtool >/dev/null 2>&1 || deploy_need+=(prometheus)
{ command -v amtool >/dev/null 2>&1 && [ -x /usr/bin/prometheus-alertmanager ]; } \
  || deploy_need+=(prometheus-alertmanager)
if [ "${#deploy_need[@]}" -gt 0 ]; then
  apt_install "${deploy_need[@]}"
  if command -v systemctl >/dev/null 2>&1; then
    for unit in prometheus prometheus-alertmanager prometheus-node-exporter; do
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
fi
