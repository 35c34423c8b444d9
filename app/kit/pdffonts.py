"""The Chinese font every PDF of the registry is set in: credit and special reports, decision
documents, repair notices.

An installed TrueType font is embedded (text extractable, the same glyphs in every viewer): the
Debian package fonts-wqy-zenhei by default (scripts/setup and the Dockerfile install it), or the file
a deployment names. Each file is registered once, under a name of its own, so that documents made in
one process never share a name between two fonts. Without one, reportlab's CID font STSong-Light,
whose glyphs the viewer supplies (not embedded; Latin text then comes out in the viewer's CJK face).
"""

import logging
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

KNOWN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
FALLBACK_FONT = "STSong-Light"
# Characters every document prints: a font without them is not a Chinese font.
_PROBE = "信用修复决定书报告〔〕"


@lru_cache
def cjk_font(configured: str = "") -> str:
    """The registered name of the font to set documents in: the configured file, else the first
    known one installed, embedded; else the viewer-supplied fallback (a warning is logged)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    for path in (configured,) if configured else KNOWN_FONTS:
        if not Path(path).is_file():
            continue
        name = f"CJK-{Path(path).stem}"
        try:
            font = TTFont(name, path, subfontIndex=0)
        except Exception as exc:  # not TrueType outlines (CFF-based OpenType), or damaged
            log.warning("font %s cannot be embedded (%s)", path, exc)
            continue
        if all(ord(char) in font.face.charToGlyph for char in _PROBE):
            pdfmetrics.registerFont(font)
            return name
        log.warning("font %s lacks Chinese glyphs", path)
    log.warning(
        "no TrueType Chinese font found (%s): PDFs fall back to the viewer's %s, not embedded; "
        "install fonts-wqy-zenhei or set REGISTRY_REPORT_FONT",
        configured or ", ".join(KNOWN_FONTS),
        FALLBACK_FONT,
    )
    if FALLBACK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT
