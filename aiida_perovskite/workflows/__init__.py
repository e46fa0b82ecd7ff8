"""Work chains of the plugin."""
