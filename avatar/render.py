"""The pygame renderer: draws a ``Pose`` and a ``ScreenModel`` into a frame.

pygame is imported here only. Static art is rasterised once per screen size
(SVG through SDL_image); eyes, brows and mouth are anti-aliased polygons
drawn each frame. Runs headless (no display needed) or into a window.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avatar import art
from avatar.animation import AvatarState, Pose
from avatar.errors import AssetError, RenderError
from avatar.face_draw import FaceDrawing
from avatar.layout import UI_TEXT, Layout, Rect, ScreenModel
from avatar.palette import GOLD, INK, MUTED, NAVY, RED, WHITE, Color, Point

if TYPE_CHECKING:
    import pygame

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def _pygame() -> Any:
    try:
        import pygame
        import pygame.gfxdraw
    except ImportError as err:  # pragma: no cover - pygame is a runtime dependency
        raise RenderError("pygame is not installed") from err
    return pygame


class Renderer(FaceDrawing):
    """Draws frames of the digital human and its screen."""

    def __init__(self, size: tuple[int, int] = (1080, 1920), font_path: Path = CJK_FONT, window: bool = False) -> None:
        """Prepare the art for a screen of ``size`` (width, height).

        Args:
            size: Screen size in pixels; portrait 1080x1920 is the kiosk default.
            font_path: A font with Chinese glyphs (Debian's fonts-wqy-microhei).
            window: Open a window (on a kiosk) instead of drawing off-screen.

        Raises:
            AssetError: If the font or the art cannot be loaded.
            RenderError: If the size is invalid or the window cannot open.
        """
        pg = _pygame()
        self._pg = pg
        width, height = size
        Layout.compute(width, height)  # validates the size
        if not font_path.is_file():
            raise AssetError(f"font not found: {font_path} (install fonts-wqy-microhei)")
        self.size = size
        self._font_path = font_path
        pg.font.init()
        self._window = None
        if window:
            try:
                pg.display.init()
                self._window = pg.display.set_mode(size)
                pg.display.set_caption("Bank kiosk")
            except pg.error as err:
                raise RenderError(f"cannot open a window: {err}") from err
        self.surface: pygame.Surface = pg.Surface(size)
        self._fonts: dict[int, Any] = {}
        self._text_cache: dict[tuple[str, int, Color], Any] = {}
        self._layers: dict[bool, dict[str, Any]] = {}
        self.layout = Layout.compute(width, height)
        self._ui_key: tuple[Any, ...] | None = None  # what the still part of the screen shows now
        self.full_redraws = 0  # frames drawn whole (the others redraw only the avatar and its status)

    # -- assets -------------------------------------------------------------
    def _svg(self, text: str) -> Any:
        try:
            return self._pg.image.load(io.BytesIO(text.encode("utf-8")), "layer.svg")
        except self._pg.error as err:
            raise AssetError(f"cannot rasterise avatar art: {err}") from err

    def _layer(self, svg: str, opaque: bool = False) -> tuple[Any, tuple[int, int]]:
        """Rasterise ``svg`` once into the screen's pixel format, cropped to what it covers.

        SDL_image returns ABGR surfaces that blit 10-20x slower than native
        ARGB; converting, cropping and run-length encoding once keeps a frame in a few ms.
        """
        pg = self._pg
        raw = self._svg(svg)
        if opaque:
            out = pg.Surface(raw.get_size())
            out.blit(raw, (0, 0))
            return out, (0, 0)
        full = pg.Surface(raw.get_size(), pg.SRCALPHA, 32)
        full.blit(raw, (0, 0))
        box = full.get_bounding_rect()
        layer = full.subsurface(box).copy()
        # Run-length encoded: the layers are mostly fully transparent or opaque runs, and blit
        # 4-10x faster so (blending differs by at most 1 in 255 on edge pixels).
        layer.set_alpha(255, pg.RLEACCEL)
        return layer, (box.x, box.y)

    def _art(self, layout: Layout, elderly: bool) -> dict[str, Any]:
        if elderly not in self._layers:
            ax, ay, aw, ah = layout.avatar
            # Show the shoulders' full width (800 units) and from the hair (200) to the chest (960).
            scale = min(aw * 0.95 / 800.0, ah / 760.0)
            w, h = round(art.BOX_W * scale), round(art.BOX_H * scale)
            self._layers[elderly] = {
                "background": self._layer(art.background_svg(layout.width, layout.height, elderly), opaque=True),
                "hair_back": self._layer(art.hair_back_svg(w, h)),
                "body": self._layer(art.body_svg(w, h)),
                "head": self._layer(art.head_svg(w, h)),
                "scale": scale,
                "origin": (ax + (aw - w) / 2, ay + (ah - 760.0 * scale) / 2 - 200.0 * scale),
            }
        return self._layers[elderly]

    def _font(self, px: int) -> Any:
        if px not in self._fonts:
            try:
                self._fonts[px] = self._pg.font.Font(str(self._font_path), px)
            except (OSError, self._pg.error) as err:
                raise AssetError(f"cannot load font {self._font_path}: {err}") from err
        return self._fonts[px]

    def _text(self, text: str, px: int, color: Color) -> Any:
        key = (text, px, color)
        surf = self._text_cache.get(key)
        if surf is None:
            if len(self._text_cache) > 512:
                self._text_cache.clear()
            surf = self._font(px).render(text, True, color)
            self._text_cache[key] = surf
        return surf

    # -- frame --------------------------------------------------------------
    def draw(self, pose: Pose, screen: ScreenModel, t_ms: float = 0.0) -> pygame.Surface:
        """Draw one frame and return the surface (shown in the window, if any).

        Args:
            pose: The avatar's pose from ``Animator.advance``.
            screen: Subtitles, buttons, language and mode.
            t_ms: Time for small UI animations (status dots).
        """
        pg = self._pg
        layout = Layout.compute(*self.size, elderly=screen.elderly, n_buttons=len(screen.shown_buttons))
        self.layout = layout
        layers = self._art(layout, screen.elderly)
        surf = self.surface
        # Only the avatar and its status pill move from frame to frame: while the rest of the screen
        # (subtitles, buttons, bars) stays the same, only their region is drawn again.
        dirty = pg.Rect(layout.avatar).union(pg.Rect(layout.status))
        still = (layout.top_bar, layout.lang_button, layout.staff_button, layout.subtitles, layout.elderly_button)
        key = (layout, screen.lang, screen.said, screen.heard, screen.shown_buttons, screen.elderly)
        whole = key != self._ui_key or any(dirty.colliderect(pg.Rect(r)) for r in (*still, *layout.buttons))
        if whole:
            surf.blit(layers["background"][0], (0, 0))
            self._draw_ui(surf, layout, screen)
            self._ui_key = key
            self.full_redraws += 1
        else:
            surf.blit(layers["background"][0], dirty.topleft, area=dirty)
        surf.set_clip(pg.Rect(layout.avatar))
        self._draw_avatar(surf, layers, pose)
        surf.set_clip(None)
        self._draw_status(surf, layout, screen, pose.state, t_ms)
        if self._window is not None:
            if whole:
                self._window.blit(surf, (0, 0))
                pg.display.flip()
            else:
                self._window.blit(surf, dirty.topleft, area=dirty)
                pg.display.update(dirty)
        return surf

    def _draw_avatar(self, surf: Any, layers: dict[str, Any], pose: Pose) -> None:
        s: float = layers["scale"]
        ox, oy = layers["origin"]
        expr = pose.expression
        hx = ox + (pose.head_x * 5 + expr.head_tilt * 7) * s
        hy = oy + (pose.head_y * 3 + expr.head_down * 9) * s
        by = oy - pose.breath * 3 * s
        for name, x, y in (("hair_back", hx, hy), ("body", ox, by), ("head", hx, hy)):
            layer, (dx, dy) = layers[name]
            surf.blit(layer, (round(x) + dx, round(y) + dy))

        def p(x: float, y: float) -> Point:
            return (hx + x * s, hy + y * s)

        g = art.FACE
        for side in (-1, 1):
            cx = g.centre_x + side * g.eye_dx
            self._draw_eye(surf, p=p, cx=cx, g=g, pose=pose, side=side)
            self._draw_brow(surf, p=p, cx=cx, g=g, pose=pose, side=side)
        self._draw_mouth(surf, p, g, pose, s)

    def _button(self, surf: Any, rect: Rect, label: str, *, px: int, fill: Color, ink: Color, border: Color) -> None:
        pg = self._pg
        x, y, w, h = rect
        radius = h // 2 if h < 110 else h // 3
        shadow = pg.Rect(x, y + max(2, h // 24), w, h)
        pg.draw.rect(surf, (200, 210, 222), shadow, border_radius=radius)
        pg.draw.rect(surf, fill, pg.Rect(rect), border_radius=radius)
        pg.draw.rect(surf, border, pg.Rect(rect), width=max(2, h // 36), border_radius=radius)
        text = self._fit(label, px, w - h // 2, ink)
        surf.blit(text, text.get_rect(center=(x + w // 2, y + h // 2)))

    def _fit(self, label: str, px: int, max_w: int, ink: Color) -> Any:
        size = px
        text = self._text(label, size, ink)
        while text.get_width() > max_w and size > 12:
            size = int(size * 0.9)
            text = self._text(label, size, ink)
        return text

    def _wrap(self, text: str, px: int, max_w: int) -> list[str]:
        font = self._font(px)
        lines: list[str] = []
        for para in text.splitlines() or [""]:
            line = ""
            tokens = _tokens(para)
            for tok in tokens:
                trial = line + tok
                if line and font.size(trial)[0] > max_w:
                    lines.append(line.rstrip())
                    line = tok.lstrip()
                else:
                    line = trial
            lines.append(line)
        return lines

    def _draw_status(self, surf: Any, layout: Layout, screen: ScreenModel, state: AvatarState, t_ms: float) -> None:
        """The status pill under the avatar (it changes with the avatar's state and time)."""
        pg = self._pg
        u = layout.unit
        sx, sy, sw, sh = layout.status
        label = UI_TEXT[screen.lang][state]
        if state in (AvatarState.THINKING, AvatarState.LISTENING):
            label += "." * (1 + int(t_ms // 400) % 3)
        text = self._text(label, layout.small_px, NAVY)
        pill_w = text.get_width() + round(90 * u)
        pill = pg.Rect(sx + (sw - pill_w) // 2, sy, pill_w, sh)
        pg.draw.rect(surf, WHITE, pill, border_radius=sh // 2)
        pg.draw.rect(surf, (190, 205, 222), pill, width=2, border_radius=sh // 2)
        dot_color = {AvatarState.LISTENING: (46, 160, 90), AvatarState.SPEAKING: GOLD}.get(state, (150, 165, 182))
        pulse = 0.75 + 0.25 * math.sin(t_ms / 160.0) if state == AvatarState.LISTENING else 1.0
        pg.draw.circle(surf, dot_color, (pill.x + round(40 * u), pill.centery), max(2, round(12 * u * pulse)))
        surf.blit(text, (pill.x + round(64 * u), pill.centery - text.get_height() // 2))

    def _draw_ui(self, surf: Any, layout: Layout, screen: ScreenModel) -> None:
        """Everything but the avatar and its status: drawn again only when it changes."""
        pg = self._pg
        words = UI_TEXT[screen.lang]
        high = screen.elderly
        ink = (0, 0, 0) if high else INK
        u = layout.unit
        # Top bar: brand, language switch, always-visible staff button.
        pg.draw.rect(surf, NAVY, pg.Rect(layout.top_bar))
        pg.draw.rect(surf, GOLD, pg.Rect(0, layout.top_bar[3] - round(6 * u), layout.width, round(6 * u)))
        title = self._text(words["title"], round(40 * u), WHITE)
        surf.blit(title, (round(32 * u), (layout.top_bar[3] - title.get_height()) // 2))
        lx, ly, lw, lh = layout.lang_button
        pg.draw.rect(surf, WHITE, pg.Rect(layout.lang_button), border_radius=lh // 2)
        half = pg.Rect(lx + (0 if screen.lang == "zh" else lw // 2), ly, lw // 2, lh)
        pg.draw.rect(surf, GOLD, half, border_radius=lh // 2)
        for i, label in enumerate(("中文", "EN")):
            text = self._text(label, round(32 * u), NAVY)
            surf.blit(text, text.get_rect(center=(lx + lw // 4 + i * lw // 2, ly + lh // 2)))
        self._button(
            surf,
            layout.staff_button,
            "☎ " + words["staff"],
            px=round(32 * u),
            fill=RED,
            ink=WHITE,
            border=(150, 20, 20),
        )
        # Subtitles: what the kiosk says, and what it heard.
        px, py, pw, ph = layout.subtitles
        panel = pg.Rect(layout.subtitles)
        pg.draw.rect(surf, WHITE, panel, border_radius=round(28 * u))
        edge = (0, 0, 0) if high else (205, 216, 230)
        pg.draw.rect(surf, edge, panel, width=3 if high else 2, border_radius=round(28 * u))
        inner_x, inner_w = px + round(36 * u), pw - round(72 * u)
        y = py + round(28 * u)
        bottom = py + ph - round(20 * u)
        if screen.heard:
            for line in self._wrap(words["heard"] + screen.heard, layout.small_px, inner_w)[:2]:
                text = self._text(line, layout.small_px, MUTED if not high else (40, 40, 40))
                surf.blit(text, (inner_x, y))
                y += round(text.get_height() * 1.15)
            y += round(12 * u)
        if screen.said:
            for line in self._wrap(screen.said, layout.text_px, inner_w):
                text = self._text(line, layout.text_px, ink)
                if y + text.get_height() > bottom:
                    break
                surf.blit(text, (inner_x, y))
                y += round(text.get_height() * 1.2)
        # Touch buttons: the reply's, else the top services.
        for rect, (_, label) in zip(layout.buttons, screen.shown_buttons, strict=False):
            border = NAVY if high else (170, 190, 215)
            self._button(
                surf, rect, label, px=layout.button_px, fill=WHITE, ink=(0, 0, 0) if high else NAVY, border=border
            )
        mode = words["elderly_on" if screen.elderly else "elderly_off"]
        self._button(
            surf,
            layout.elderly_button,
            "A+ " + mode,
            px=round(30 * u),
            fill=(234, 240, 247),
            ink=NAVY,
            border=(170, 190, 215),
        )

    # -- output ---------------------------------------------------------------
    def rgb_bytes(self) -> bytes:
        """The current frame as raw RGB bytes (width x height x 3)."""
        return bytes(self._pg.image.tobytes(self.surface, "RGB"))

    def encode(self, fmt: str = "png", scale: float = 1.0) -> bytes:
        """The current frame as a PNG or JPEG file's bytes, optionally scaled down.

        Raises:
            ValueError: If ``fmt`` is neither 'png' nor 'jpeg'.
        """
        if fmt not in ("png", "jpeg"):
            raise ValueError(f"unknown image format {fmt!r}")
        surf = self.surface
        if scale != 1.0:
            w, h = self.size
            surf = self._pg.transform.smoothscale(surf, (max(1, round(w * scale)), max(1, round(h * scale))))
        buf = io.BytesIO()
        self._pg.image.save(surf, buf, f"frame.{'png' if fmt == 'png' else 'jpg'}")
        return buf.getvalue()

    def save(self, path: Path) -> None:
        """Save the current frame as PNG (frames of customers are never saved: this is the avatar)."""
        self._pg.image.save(self.surface, str(path))

    def close(self) -> None:
        """Close the window, if one is open."""
        if self._window is not None:
            self._pg.display.quit()
            self._window = None


def _tokens(text: str) -> list[str]:
    """Wrap units: each Han character alone, Latin words with their trailing space."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ord(ch) > 0x2E80:
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        elif ch == " ":
            tokens.append(word + " ")
            word = ""
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens
