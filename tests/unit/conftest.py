"""Fixtures of the in-process HTTP tests; they live in http_fixtures.py with their helpers."""

from tests.unit.http_fixtures import cache_dir, fake, proxy, start_proxy

__all__ = ["cache_dir", "fake", "proxy", "start_proxy"]
