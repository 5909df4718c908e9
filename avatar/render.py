"""The pygame renderer: draws a ``Pose`` and a ``ScreenModel`` into a frame.

pygame is imported here only. Static art is rasterised once per screen size
(SVG through SDL_image); eyes, brows and mouth are anti-aliased polygons
drawn each frame. Runs headless (no display needed) or into a window.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avatar import art
from avatar.animation import AvatarState, Pose
from avatar.errors import AssetError, RenderError
from avatar.layout import UI_TEXT, Layout, Rect, ScreenModel

if TYPE_CHECKING:
    import pygame

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
Point = tuple[float, float]
Color = tuple[int, int, int]

NAVY: Color = (23, 58, 99)
GOLD: Color = (201, 162, 39)
RED: Color = (198, 40, 40)
WHITE: Color = (255, 255, 255)
INK: Color = (33, 41, 52)
MUTED: Color = (96, 108, 124)
LASH: Color = (43, 29, 22)
IRIS: Color = (92, 60, 38)
IRIS_DARK: Color = (52, 33, 22)
LIP: Color = (203, 104, 110)
LIP_DARK: Color = (168, 76, 84)
MOUTH_IN: Color = (96, 30, 40)
TEETH: Color = (248, 245, 240)
TONGUE: Color = (214, 110, 118)
BROW: Color = (70, 46, 36)


def _pygame() -> Any:
    try:
        import pygame
        import pygame.gfxdraw
    except ImportError as err:  # pragma: no cover - pygame is a runtime dependency
        raise RenderError("pygame is not installed") from err
    return pygame


class Renderer:
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

    def _poly(self, surf: Any, color: Sequence[int], points: Sequence[Point]) -> None:
        if len(points) < 3:
            return
        gfx = self._pg.gfxdraw
        pts = [(round(x), round(y)) for x, y in points]
        gfx.filled_polygon(surf, pts, color)
        gfx.aapolygon(surf, pts, color)

    def _draw_eye(self, surf: Any, *, p: Any, cx: float, g: art.FaceGeometry, pose: Pose, side: int) -> None:
        pg = self._pg
        open_ = max(0.0, min(1.0, pose.eye_open))
        n = 14
        xs = [(-1 + 2 * i / n) for i in range(n + 1)]
        up_h = g.eye_half_h * (0.15 + 0.85 * open_)
        low_h = g.eye_half_h * 0.55 * (1 - 0.4 * pose.expression.squint)
        tilt = 3.0 * side

        def y_up(u: float, h: float) -> float:
            return float(g.eye_y - h * (1 - u * u) ** 0.75 - tilt * u * side)

        def y_low(u: float) -> float:
            return float(g.eye_y + low_h * (1 - u * u) ** 0.9 - tilt * u * side * 0.5)

        if open_ > 0.12:
            upper = [p(cx + u * g.eye_half_w, y_up(u, up_h)) for u in xs]
            lower = [p(cx + u * g.eye_half_w, y_low(u)) for u in reversed(xs)]
            shape = upper + lower
            # Sclera, then iris and pupil clipped to the eye through a mask.
            x0 = int(min(q[0] for q in shape)) - 2
            y0 = int(min(q[1] for q in shape)) - 2
            w = int(max(q[0] for q in shape)) - x0 + 4
            h = int(max(q[1] for q in shape)) - y0 + 4
            eye = pg.Surface((w, h), pg.SRCALPHA)
            local = [(x - x0, y - y0) for x, y in shape]
            self._poly(eye, (252, 250, 248, 255), local)
            iris = pg.Surface((w, h), pg.SRCALPHA)
            ix, iy = p(cx + pose.gaze_x * g.eye_half_w * 0.38, g.eye_y - 2 + pose.gaze_y * g.eye_half_h * 0.35)
            scale = (p(1, 0)[0] - p(0, 0)[0]) or 1.0
            r = g.iris_r * scale
            gfx = pg.gfxdraw
            rings = ((r, IRIS_DARK), (r * 0.84, IRIS), (r * 0.62, (120, 82, 52)), (r * 0.42, (20, 14, 12)))
            for radius, color in rings:
                gfx.filled_circle(iris, round(ix - x0), round(iy - y0), max(1, round(radius)), color)
            hl = max(1, round(r * 0.22))
            gfx.filled_circle(iris, round(ix - x0 + r * 0.35), round(iy - y0 - r * 0.35), hl, WHITE)
            iris.blit(eye, (0, 0), special_flags=pg.BLEND_RGBA_MIN)
            eye.blit(iris, (0, 0))
            surf.blit(eye, (x0, y0))
            lash_top = upper
        else:
            lash_top = [p(cx + u * g.eye_half_w, g.eye_y + 2 + 5 * (1 - u * u)) for u in xs]
        # Upper lash line with a small outer wing, thicker in the middle.
        thick = [p(0, 0)[1] - p(0, 0)[1] + (2.0 + 3.5 * (1 - u * u)) for u in xs]
        s = p(1, 0)[0] - p(0, 0)[0]
        band = lash_top + [(x, y - t * s) for (x, y), t in zip(reversed(lash_top), reversed(thick), strict=True)]
        self._poly(surf, LASH, band)
        wing_u = 1.0 if side > 0 else -1.0
        wx, wy = lash_top[-1] if side > 0 else lash_top[0]
        self._poly(surf, LASH, [(wx, wy), (wx + wing_u * 9 * s, wy - 6 * s), (wx - wing_u * 2 * s, wy - 5 * s)])
        # Crease above the eye.
        crease = [p(cx + u * g.eye_half_w * 0.9, g.eye_y - g.eye_half_h - 6 - 3 * (1 - u * u)) for u in xs]
        crease_band = crease + [(x, y + 1.8 * s) for x, y in reversed(crease)]
        self._poly(surf, (232, 186, 162), crease_band)

    def _draw_brow(self, surf: Any, *, p: Any, cx: float, g: art.FaceGeometry, pose: Pose, side: int) -> None:
        e = pose.expression
        n = 10
        pts_top: list[Point] = []
        pts_bot: list[Point] = []
        lift = e.brow_raise * 12
        for i in range(n + 1):
            u = i / n  # 0 inner .. 1 outer
            x = cx - side * g.brow_half_w + side * 2 * g.brow_half_w * u
            arch = 9 * math.sin(math.pi * min(1.0, u * 1.15))
            inner = e.brow_inner * 18 * (1 - u) ** 1.5
            y = g.brow_y - lift - arch - inner + 6 * u * u
            t = 9.0 - 5.5 * u
            pts_top.append(p(x, y - t / 2))
            pts_bot.append(p(x, y + t / 2))
        self._poly(surf, BROW, pts_top + list(reversed(pts_bot)))

    def _draw_mouth(self, surf: Any, p: Any, g: art.FaceGeometry, pose: Pose, s: float) -> None:
        pg = self._pg
        m = pose.mouth
        smile = pose.expression.smile
        half_w = g.mouth_half_w * m.width * (1 + 0.12 * max(0.0, smile))
        opening = m.open * 38
        n = 16
        xs = [(-1 + 2 * i / n) for i in range(n + 1)]

        def bump(u: float) -> float:
            return float((1 - u * u) ** (0.6 + 0.6 * m.round))

        def corner(u: float) -> float:
            return -smile * 13 * u * u

        cy = g.mouth_y
        up_in = [(g.centre_x + u * half_w, cy + corner(u) - opening * 0.3 * bump(u)) for u in xs]
        low_in = [(g.centre_x + u * half_w, cy + corner(u) + opening * 0.7 * bump(u) + smile * 3 * bump(u)) for u in xs]
        bow = [4.5 * bump(u) + 2.0 * math.exp(-((abs(u) - 0.28) ** 2) / 0.02) for u in xs]
        up_out = [(x, y - b) for (x, y), b in zip(up_in, bow, strict=True)]
        low_out = [(x, y + 8.5 * bump(u) * (1 - 0.3 * m.round)) for (x, y), u in zip(low_in, xs, strict=True)]
        lips = [p(*q) for q in up_out] + [p(*q) for q in reversed(low_out)]
        self._poly(surf, LIP, lips)
        if opening > 1.0:
            inner = [p(*q) for q in up_in] + [p(*q) for q in reversed(low_in)]
            x0 = int(min(q[0] for q in inner)) - 2
            y0 = int(min(q[1] for q in inner)) - 2
            w = int(max(q[0] for q in inner)) - x0 + 4
            h = int(max(q[1] for q in inner)) - y0 + 4
            mask = pg.Surface((w, h), pg.SRCALPHA)
            self._poly(mask, (255, 255, 255, 255), [(x - x0, y - y0) for x, y in inner])
            fill = pg.Surface((w, h), pg.SRCALPHA)
            fill.fill((*MOUTH_IN, 255))
            if m.teeth > 0:
                th = (4 + 6 * m.teeth) * s
                teeth = [(x - x0, y - y0) for x, y in (p(*q) for q in up_in[2:-2])]
                teeth += [(x, y + th) for x, y in reversed(teeth)]
                self._poly(fill, (*TEETH, 255), teeth)
            if m.tongue > 0 or opening > 14:
                tx, ty = p(g.centre_x, cy + opening * 0.7 + 2)
                self._poly(
                    fill,
                    (*TONGUE, 255),
                    [
                        (tx - x0 + math.cos(a) * half_w * 0.55 * s, ty - y0 + math.sin(a) * opening * 0.45 * s)
                        for a in (math.pi * k / 12 for k in range(24))
                    ],
                )
            fill.blit(mask, (0, 0), special_flags=pg.BLEND_RGBA_MIN)
            surf.blit(fill, (x0, y0))
        else:
            line = [p(*q) for q in up_in]
            band = line + [(x, y + 2.6 * s) for x, y in reversed(line)]
            self._poly(surf, LIP_DARK, band)
        # A soft highlight on the lower lip.
        hl = [p(g.centre_x + u * half_w * 0.35, low_out[8][1] - 3.5 - 1.5 * (1 - u * u)) for u in (-1, -0.5, 0, 0.5, 1)]
        hl_band = hl + [(x, y + 1.6 * s) for x, y in reversed(hl)]
        self._poly(surf, (226, 140, 146), hl_band)

    # -- UI -------------------------------------------------------------------
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
