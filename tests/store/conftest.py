# Temporary: until the root tests/conftest.py loads this plugin for every package.
pytest_plugins = ["tests.fixtures.postgres"]
