"""Locust user classes and load shapes of loadgate.

Run ``locust -f locustfiles/chat.py --scenario demo`` (or ``loadgate run``). Every module
here imports ``locust`` before anything that imports ``ssl`` or ``requests`` (boto3 among
them), because gevent must patch the standard library first.
"""

from __future__ import annotations

__all__: list[str] = []
