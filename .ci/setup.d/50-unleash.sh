# A real Unleash server for tests/changes/test_unleash_real.py: npm's unleash-server, pinned,
# in a cache directory outside the repository; the test starts it on the PostgreSQL of
# 10-postgres.sh. unleash-server 7.6 and later need Node >= 22, 7.5 needs Node >= 20; Debian
# bookworm ships Node 18, for which 6.10 (Node 18 to 20) is the newest that runs.
# Exports SEGBOT_UNLEASH_HOME.
# A first install writes about 190 MB: 1.5 minutes from the registry, 30 s from a warm npm
# cache; later runs reuse it.
# Sourced by .ci/run (bash, set -euo pipefail); idempotent.
command -v node >/dev/null 2>&1 || apt_install nodejs
command -v npm >/dev/null 2>&1 || apt_install npm
_unleash_node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$_unleash_node_major" -ge 20 ]; then
  _unleash_version=7.5.1
else
  _unleash_version=6.10.1
fi
_unleash_prefix="/var/cache/segbot-unleash/${_unleash_version}"
export SEGBOT_UNLEASH_HOME="${_unleash_prefix}/node_modules/unleash-server"
if [ ! -f "${SEGBOT_UNLEASH_HOME}/package.json" ]; then
  # No install scripts: none of them is needed to serve (optional native SSH helpers only).
  npm install --prefix "$_unleash_prefix" --ignore-scripts --no-audit --no-fund \
    --loglevel=error "unleash-server@${_unleash_version}" >/dev/null
fi
echo "unleash-server for tests: $SEGBOT_UNLEASH_HOME (node $(node --version))"
