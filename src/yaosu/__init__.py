"""Yaosu (要素): a city's public-data platform, policy-checked and verifiable end to end."""

__version__ = "0.1.0"
