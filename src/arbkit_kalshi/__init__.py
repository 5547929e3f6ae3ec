"""arbkit's Kalshi adapter, registered as the ``kalshi`` exchange plugin."""
