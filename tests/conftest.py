"""Test-wide settings: Hypothesis explores freely on a developer's machine and is derandomized
on CI (CI=true), so a submission's result never hangs on which examples a run happened to draw."""

import os

import textual.constants
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Textual picks its colour system from TERM (16 colours under TERM=xterm, none on a bare CI
# runner); pin truecolor so pane output and snapshots are the same everywhere. Tests of the
# 16-colour fallback set the console's colour system themselves.
os.environ.setdefault("TEXTUAL_COLOR_SYSTEM", "truecolor")
textual.constants.COLOR_SYSTEM = os.environ["TEXTUAL_COLOR_SYSTEM"]  # a plugin imported it first
