# A throwaway PostgreSQL server for the store tests (tests/store, tests/web, tests/incidents):
# Debian's postgresql package, a cluster under /tmp owned by the postgres user, on a free
# loopback port, trust auth on loopback only. Exports SEGBOT_TEST_POSTGRES_URL.
# Sourced by .ci/run (bash, set -euo pipefail); idempotent: reuses a running cluster.
apt_install postgresql
_pg_bin="/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -V | tail -n 1)/bin"
_pg_dir=/tmp/segbot-postgres
if [ -f "$_pg_dir/port" ] && runuser -u postgres -- "$_pg_bin/pg_ctl" -D "$_pg_dir/data" status >/dev/null 2>&1; then
  _pg_port="$(cat "$_pg_dir/port")"
else
  if [ -f "$_pg_dir/data/postmaster.pid" ]; then
    runuser -u postgres -- "$_pg_bin/pg_ctl" -D "$_pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$_pg_dir"
  install -d -o postgres -g postgres -m 700 "$_pg_dir"
  _pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  runuser -u postgres -- "$_pg_bin/initdb" -D "$_pg_dir/data" -A trust -U postgres --no-sync -E UTF8 >/dev/null
  runuser -u postgres -- "$_pg_bin/pg_ctl" -D "$_pg_dir/data" -l "$_pg_dir/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$_pg_port -c unix_socket_directories=$_pg_dir -c max_connections=100" \
    start >/dev/null
  echo "$_pg_port" > "$_pg_dir/port"
fi
runuser -u postgres -- "$_pg_bin/psql" -h 127.0.0.1 -p "$_pg_port" -U postgres -qtAc \
  "SELECT 1 FROM pg_database WHERE datname = 'segbot_test'" | grep -q 1 \
  || runuser -u postgres -- "$_pg_bin/createdb" -h 127.0.0.1 -p "$_pg_port" -U postgres segbot_test
export SEGBOT_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:${_pg_port}/segbot_test"
echo "PostgreSQL for tests: $SEGBOT_TEST_POSTGRES_URL"
