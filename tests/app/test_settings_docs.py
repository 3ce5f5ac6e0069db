"""The settings table (docs/deployment.md) lists every setting, with its default, as the code
has it."""

import re
from pathlib import Path

from app.settings import Settings

SETTINGS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def test_every_setting_is_documented_with_its_default() -> None:
    table = SETTINGS_PAGE.read_text()
    rows = dict(re.findall(r"^\| `(VAE_[A-Z0-9_]+)` \| `([^`]*)` \|", table, re.M))
    expected = {}
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if default is None:
            shown = "unset"
        elif default in ([], {}):
            shown = "empty"
        elif isinstance(default, bool):
            shown = str(default).lower()
        else:
            shown = str(default)
        expected[f"VAE_{name.upper()}"] = shown
    assert rows == expected
