"""The lab host's release layout for the action tests: two releases behind a `current` symlink,
a release switch the rollback command runs, the restart-delay helper, and the production sudoers
(deploy/host/) plus the switch."""

from __future__ import annotations

from typing import Any

from bot.config import Config, load_playbook_file
from tests.lab.host import LabHost
from tests.support.deploy_files import DEPLOY, sudoers_module

HELPER = "/usr/local/libexec/segbot/restart-delay"
SWITCH = "/usr/local/sbin/release-switch"
# The lab's release layout: /opt/checkout/releases/VERSION/env, /opt/checkout/current points
# at one, /etc/default/checkout-api (the unit's EnvironmentFile) at current/env.
RELEASE_SWITCH = r"""#!/bin/sh
set -eu
cd /opt/checkout/releases
want=$1
if [ "$want" = previous ]; then
    now=$(basename "$(readlink -f /opt/checkout/current)")
    want=$(ls | sort -V | awk -v now="$now" '$0 == now { print prev } { prev = $0 }')
fi
case $want in '' | *[!0-9a-z.]*) echo "no such release: $1" >&2; exit 2 ;; esac
[ -d "$want" ] || { echo "no such release: $want" >&2; exit 2; }
ln -sfn "/opt/checkout/releases/$want" /opt/checkout/current.new
mv -T /opt/checkout/current.new /opt/checkout/current
echo "current -> $want"
"""
LAYOUT = f"""set -eu
mkdir -p /opt/checkout/releases/2.18.6 /opt/checkout/releases/2.18.7
echo CHECKOUT_FEATURE_FLAGS=pricing_v4:off > /opt/checkout/releases/2.18.6/env
echo CHECKOUT_FEATURE_FLAGS=pricing_v4:on > /opt/checkout/releases/2.18.7/env
ln -sfn /opt/checkout/releases/2.18.7 /opt/checkout/current
ln -sf /opt/checkout/current/env /etc/default/checkout-api
mkdir -p {HELPER.rsplit('/', 1)[0]}
"""


def prepare_host(host: LabHost, config: dict[str, Any]) -> None:
    """Release layout, rollback switch, restart-delay helper and the production sudoers."""
    checked = Config.model_validate(config)
    text = sudoers_module().sudoers(checked, load_playbook_file(None, checked), host=host.name)
    text += f"segbot ALL=(root) NOPASSWD: {SWITCH}\n"  # the fleet's own rollback helper
    host.run(["sh", "-c", LAYOUT], check=True)
    host.run(["sh", "-c", "cat > /etc/sudoers.d/segbot.new && chmod 0440 /etc/sudoers.d/"
              "segbot.new && visudo -c -q -f /etc/sudoers.d/segbot.new && mv /etc/sudoers.d/"
              "segbot.new /etc/sudoers.d/segbot"], input=text, check=True)
    for path, body in ((HELPER, (DEPLOY / "host" / "restart-delay").read_text()),
                       (SWITCH, RELEASE_SWITCH)):
        host.run(["sh", "-c", f"cat > {path} && chmod 0755 {path}"], input=body, check=True)
