"""Sphinx configuration for aiida-perovskite."""

project = 'aiida-perovskite'
author = 'aiida-perovskite developers'
extensions = ['sphinx.ext.autodoc', 'sphinx.ext.napoleon', 'sphinx.ext.viewcode']
html_theme = 'furo'
exclude_patterns = ['build']
nitpicky = False
