"""Sphinx configuration for aiida-perovskite."""

import atexit
import os
import shutil
import tempfile

# autodoc imports every module and inspects every class attribute; AiiDA's ``collection``
# properties would open the default profile's storage. An empty configuration folder makes
# sure the documentation never touches a real profile (and builds where none exists).
os.environ['AIIDA_PATH'] = tempfile.mkdtemp(prefix='aiida-perovskite-docs-')
atexit.register(shutil.rmtree, os.environ['AIIDA_PATH'], ignore_errors=True)

project = 'aiida-perovskite'
author = 'aiida-perovskite developers'
extensions = ['sphinx.ext.autodoc', 'sphinx.ext.napoleon', 'sphinx.ext.viewcode']
html_theme = 'furo'
exclude_patterns = ['build']
nitpicky = False
autodoc_member_order = 'bysource'
