"""The suite's shared fixtures: the lab's hosts, and the databases and local diagnosis that
several folders use."""

pytest_plugins = ["tests.lab.fixtures", "tests.support.fixtures"]
