"""The configuration: one typed model of the config file (secrets come from the environment),
read once by each verb and handed to the composition root."""

from bot.config.alerts import AlertsSection
from bot.config.files import (
    checked_name,
    config_from,
    config_path,
    default_playbook_path,
    load_config,
    load_playbook_file,
    parse_config,
    problems,
)
from bot.config.model import (
    NAME,
    Config,
    Defaults,
    Host,
    Name,
    Schedule,
    Service,
    SshSettings,
    Target,
)
from bot.config.slack import SlackSection

__all__ = [
    "NAME", "AlertsSection", "Config", "Defaults", "Host", "Name", "Schedule", "Service",
    "SlackSection", "SshSettings", "Target", "checked_name", "config_from", "config_path",
    "default_playbook_path", "load_config", "load_playbook_file", "parse_config", "problems",
]
