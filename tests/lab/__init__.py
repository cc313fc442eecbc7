"""The lab: throwaway real hosts (systemd-nspawn, sshd, a crashing service) for the test suite."""
