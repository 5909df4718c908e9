"""The face's moving parts, drawn each frame as anti-aliased polygons: eyes, brows, mouth.

A mixin of :class:`avatar.render.Renderer` (it supplies ``_pg``, the pygame module); kept apart
so the renderer's screen and UI code and the face's geometry each stay small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from avatar import art
from avatar.animation import Pose
from avatar.palette import BROW, IRIS, IRIS_DARK, LASH, LIP, LIP_DARK, MOUTH_IN, TEETH, TONGUE, WHITE, Point


class FaceDrawing:
    """Draws the eyes, brows and mouth of a pose."""

    _pg: Any

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
