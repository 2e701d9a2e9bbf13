"""``{{ name.field }}`` placeholders in texts users write (email templates, a web form's
acknowledgement), filled by a regular expression over a fixed list of names, never by
Django's template engine: a text cannot reach an attribute, call a method or load a tag
library. What is not on the list stays as written, for the writer to see."""

from __future__ import annotations

import re
from collections.abc import Container

# ``{{ name.field }}``, spaces optional. Anything else between braces is left alone.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


def unknown_placeholders(*texts: str, known: Container[str]) -> list[str]:
    """The placeholders in ``texts`` that are not ``known``, as written, in order."""
    found: list[str] = []
    for text in texts:
        for match in PLACEHOLDER.finditer(text):
            if match.group(1) not in known and match.group(0) not in found:
                found.append(match.group(0))
    return found


def render_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace the placeholders ``values`` names; any other stays as written."""

    def replace(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return PLACEHOLDER.sub(replace, text)
