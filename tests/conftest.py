pytest_plugins = ["tests.lab.fixtures", "tests.support.fixtures"]
