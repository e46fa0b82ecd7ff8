"""Versioned parameter-set data (YAML); a package only so setuptools ships it."""
