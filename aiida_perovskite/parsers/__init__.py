"""Parsers of the plugin's calculations (one per calculation, same entry-point name)."""
