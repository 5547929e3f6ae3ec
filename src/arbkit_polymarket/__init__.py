"""arbkit's Polymarket adapter, registered as the ``polymarket`` exchange plugin."""
