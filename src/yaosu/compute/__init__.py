"""Usable but invisible (可用不可见): sandboxed SQL with column controls and disclosure control.

``check`` proves, before anything runs, that a query only reads granted columns in the ways
their controls allow; ``disclosure`` runs a checked query in the data plane's sandbox and
suppresses result groups that stand for fewer than ``k`` entities. See ``docs/compute.md``.
"""
