"""The Japanese font rich menu pictures are drawn with (Debian's fonts-noto-cjk; `.ci/run`
installs it). Where none is installed, the tests that draw a picture say so and skip, as the
browser tests do without Chromium."""

import pytest

from crm.rich_menus.image import JapaneseFontMissing, check_japanese_font


def has_japanese_font() -> bool:
    try:
        check_japanese_font()
    except JapaneseFontMissing:
        return False
    return True


NEEDS_JAPANESE_FONT = pytest.mark.skipif(
    not has_japanese_font(),
    reason="no Japanese font to draw rich menus (apt-get install fonts-noto-cjk)",
)
