"""Test-wide settings: Hypothesis explores freely on a developer's machine and is derandomized
on CI (CI=true), so a submission's result never hangs on which examples a run happened to draw."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
