#!/bin/sh
# Prepare a fleet host for segbot: run as root on the host, once (safe to run again).
#
#   sh create-segbot-user.sh BOT_IP 'ssh-ed25519 AAAA... segbot@bot'  [SUDOERS_FILE]
#
# - a `segbot` system user: no password (locked), a home only for ~/.ssh, a shell because
#   segbot's commands run through `sh -c` (sshd starts them with the user's shell);
# - its authorized_keys: the bot's public key with `restrict` (no pty, no forwarding of any
#   kind, no ~/.ssh/rc) and `from=BOT_IP` (the key is useless from anywhere else);
# - the containment helper /usr/local/libexec/segbot/restart-delay (root-owned);
# - /etc/sudoers.d/segbot from SUDOERS_FILE (written by deploy/host/sudoers.py for this host),
#   checked with `visudo -c` before it is put in place: a broken file is never installed.
# It does not add segbot to any group (not adm, not systemd-journal, not sudo): everything
# privileged goes through the sudoers allowlist.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
HERE=$(cd "$(dirname "$0")" && pwd)

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
[ $# -ge 2 ] || { echo "usage: $0 BOT_IP 'ssh-ed25519 AAAA... comment' [SUDOERS_FILE]" >&2; exit 2; }
bot_ip=$1
key=$2
sudoers_file=${3:-}

case $bot_ip in
    *[!0-9A-Fa-f.:/,]* | '') echo "BOT_IP must be addresses or CIDRs (comma-separated)" >&2; exit 2 ;;
esac
case $key in
    ssh-ed25519\ AAAA* | ecdsa-sha2-nistp256\ AAAA* | ssh-rsa\ AAAA*) ;;
    *) echo "not an OpenSSH public key line" >&2; exit 2 ;;
esac
case $key in *'
'*) echo "one key line only" >&2; exit 2 ;; esac

if ! id segbot >/dev/null 2>&1; then
    useradd --system --create-home --home-dir /var/lib/segbot-remote \
        --shell /bin/sh --comment "segbot crash diagnosis (SSH, sudoers allowlist)" segbot
fi
passwd -l segbot >/dev/null 2>&1 || true
home=$(getent passwd segbot | cut -d: -f6)
install -d -m 0700 -o segbot -g segbot "$home/.ssh"
# root owns the key file, so a process running as segbot cannot add keys or drop the options.
printf 'restrict,from="%s" %s\n' "$bot_ip" "$key" >"$home/.ssh/authorized_keys.new"
chown root:segbot "$home/.ssh/authorized_keys.new"
chmod 0640 "$home/.ssh/authorized_keys.new"
mv -f "$home/.ssh/authorized_keys.new" "$home/.ssh/authorized_keys"

install -D -m 0755 -o root -g root "$HERE/restart-delay" /usr/local/libexec/segbot/restart-delay

if [ -n "$sudoers_file" ]; then
    visudo -c -q -f "$sudoers_file"
    install -m 0440 -o root -g root "$sudoers_file" /etc/sudoers.d/segbot.new
    mv -f /etc/sudoers.d/segbot.new /etc/sudoers.d/segbot
    visudo -c -q
fi
echo "segbot user ready: $(id segbot)"
