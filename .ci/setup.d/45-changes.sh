# change history tests (tests/changes): suspect commits come from a real git repository that
# the tests build, read with the git command line.
command -v git >/dev/null 2>&1 || apt_install git
