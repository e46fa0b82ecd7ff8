"""Protocol files (YAML); a package only so setuptools ships them."""
