"""Filling a message with values, English plurals included.

A message names a count's two English forms inline: ``"{n} {n|dataset|datasets}"`` reads
"1 dataset", "0 datasets", "2 datasets". Chinese has no plural, so its messages never need the
form. Only ``n == 1`` (and ``-1``) takes the singular, as English does ("0 datasets", "1.5 days").
"""

from __future__ import annotations

import re
from typing import Any

# {name|singular|plural}: the forms hold no braces and no bar.
PLURAL = re.compile(r"\{(\w+)\|([^{}|]*)\|([^{}|]*)\}")


def _is_one(value: Any) -> bool:
    try:
        return abs(float(str(value).replace(",", ""))) == 1
    except ValueError:
        return False


def plural(text: str, values: dict[str, Any]) -> str:
    """``text`` with every ``{name|one|other}`` replaced by the form ``values[name]`` asks for;
    a name without a value keeps the plural form."""

    def form(m: re.Match[str]) -> str:
        name, one, other = m.groups()
        return one if name in values and _is_one(values[name]) else other

    return PLURAL.sub(form, text)


def fill(text: str, **values: Any) -> str:
    """``text`` with its plural forms chosen and its ``{name}`` values filled."""
    return plural(text, values).format(**values) if values else plural(text, values)
