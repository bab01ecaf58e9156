"""loadgate: staged, Cognito-authenticated load tests on Locust with a deploy verdict.

This package holds what the others share: the error tree (:mod:`loadgate.errors`), the
scenarios loader (:mod:`loadgate.scenarios`) and the ``loadgate`` command line
(:mod:`loadgate.cli`). It never imports locust, so reporting stays plain Python.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
