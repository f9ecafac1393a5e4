"""Every test file (public and hidden) receives the module under test through this plugin."""
pytest_plugins = ["autograder.plugin"]
