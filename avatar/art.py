"""The avatar's art: layered SVG made by the project, and the face geometry.

The static layers (background, hair, body in uniform, head) are SVG text
rasterised once per screen size; eyes, brows and mouth move every frame and
are drawn by the renderer from the geometry constants below. Units are
those of the avatar box, 1000 wide and 1100 tall.
"""

from __future__ import annotations

from dataclasses import dataclass

BOX_W = 1000.0
BOX_H = 1100.0

SKIN = "#f6d3bd"
SKIN_SHADE = "#e9b99d"
HAIR = "#3a2620"
HAIR_LIGHT = "#5a3a2e"
NAVY = "#173a63"
NAVY_DARK = "#0f2a4a"
GOLD = "#c9a227"
SCARF = "#b3263a"


@dataclass(frozen=True, slots=True)
class FaceGeometry:
    """Where the moving features sit, in avatar-box units."""

    eye_y: float = 455.0
    eye_dx: float = 68.0
    eye_half_w: float = 39.0
    eye_half_h: float = 25.0
    iris_r: float = 18.0
    brow_y: float = 408.0
    brow_half_w: float = 42.0
    mouth_y: float = 590.0
    mouth_half_w: float = 43.0
    centre_x: float = 500.0


FACE = FaceGeometry()


def _svg(body: str, width: int, height: int, view_w: float = BOX_W, view_h: float = BOX_H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {view_w:g} {view_h:g}">{body}</svg>'
    )


def background_svg(width: int, height: int, elderly: bool = False) -> str:
    """The screen's background: a calm lobby gradient with soft brand shapes."""
    top, bottom = ("#ffffff", "#f4f6f8") if elderly else ("#f3f7fb", "#dde7f1")
    body = f"""
<defs>
 <linearGradient id="bg" x1="0" y1="0" x2="0" y2="{height}" gradientUnits="userSpaceOnUse">
  <stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/>
 </linearGradient>
 <radialGradient id="halo" cx="{width * 0.5:g}" cy="{height * 0.33:g}" r="{width * 0.55:g}"
  gradientUnits="userSpaceOnUse">
  <stop offset="0" stop-color="#ffffff" stop-opacity="0.9"/><stop offset="1" stop-color="#ffffff" stop-opacity="0"/>
 </radialGradient>
</defs>
<rect x="0" y="0" width="{width}" height="{height}" fill="url(#bg)"/>
<circle cx="{width * 0.5:g}" cy="{height * 0.33:g}" r="{width * 0.55:g}" fill="url(#halo)"/>
<circle cx="{width * 0.92:g}" cy="{height * 0.12:g}" r="{width * 0.22:g}" fill="{NAVY}" fill-opacity="0.05"/>
<circle cx="{width * 0.06:g}" cy="{height * 0.5:g}" r="{width * 0.16:g}" fill="{GOLD}" fill-opacity="0.07"/>
"""
    return _svg(body, width, height, width, height)


def hair_back_svg(width: int, height: int) -> str:
    """Hair behind the head (a shoulder-length bob)."""
    body = f"""
<defs>
 <linearGradient id="hb" x1="0" y1="200" x2="0" y2="780" gradientUnits="userSpaceOnUse">
  <stop offset="0" stop-color="{HAIR_LIGHT}"/><stop offset="1" stop-color="{HAIR}"/>
 </linearGradient>
</defs>
<path d="M318 470 C300 300 380 205 500 205 C620 205 700 300 682 470 C690 600 700 690 712 752
 C650 782 590 770 560 748 L440 748 C410 770 350 782 288 752 C300 690 310 600 318 470 Z" fill="url(#hb)"/>
"""
    return _svg(body, width, height)


def body_svg(width: int, height: int) -> str:
    """Neck and shoulders in the bank's uniform: navy blazer, white shirt, scarf, badge."""
    body = f"""
<defs>
 <linearGradient id="jk" x1="0" y1="720" x2="0" y2="1100" gradientUnits="userSpaceOnUse">
  <stop offset="0" stop-color="{NAVY}"/><stop offset="1" stop-color="{NAVY_DARK}"/>
 </linearGradient>
 <linearGradient id="nk" x1="0" y1="600" x2="0" y2="760" gradientUnits="userSpaceOnUse">
  <stop offset="0" stop-color="{SKIN_SHADE}"/><stop offset="0.5" stop-color="{SKIN}"/>
 </linearGradient>
 <linearGradient id="sh" x1="0" y1="740" x2="0" y2="1000" gradientUnits="userSpaceOnUse">
  <stop offset="0" stop-color="#ffffff"/><stop offset="1" stop-color="#e6ebf1"/>
 </linearGradient>
</defs>
<path d="M452 600 L548 600 L556 760 L444 760 Z" fill="url(#nk)"/>
<path d="M150 1100 C150 900 220 800 330 772 L440 742 L500 800 L560 742 L670 772
 C780 800 850 900 850 1100 Z" fill="url(#jk)"/>
<path d="M440 742 L500 1000 L560 742 L540 735 L500 800 L460 735 Z" fill="url(#sh)"/>
<path d="M440 742 L398 770 L470 905 L500 1000 Z" fill="{NAVY_DARK}" fill-opacity="0.55"/>
<path d="M560 742 L602 770 L530 905 L500 1000 Z" fill="{NAVY_DARK}" fill-opacity="0.55"/>
<path d="M440 742 L500 812 L560 742 L548 770 L500 838 L452 770 Z" fill="{SCARF}"/>
<path d="M478 800 L522 800 L548 880 L500 862 L452 880 Z" fill="{SCARF}"/>
<path d="M478 800 L522 800 L512 830 L488 830 Z" fill="#8e1d2d"/>
<path d="M486 828 L514 828 L532 870 L500 858 L468 870 Z" fill="#c9394c" fill-opacity="0.6"/>
<rect x="612" y="880" width="120" height="44" rx="8" fill="#ffffff"/>
<rect x="612" y="880" width="120" height="12" rx="6" fill="{GOLD}"/>
<rect x="626" y="902" width="70" height="6" rx="3" fill="{NAVY}" fill-opacity="0.7"/>
<rect x="626" y="912" width="46" height="5" rx="2.5" fill="{NAVY}" fill-opacity="0.4"/>
<circle cx="330" cy="900" r="16" fill="{GOLD}"/>
<circle cx="330" cy="900" r="9" fill="{NAVY}"/>
<path d="M150 1100 C150 960 190 880 250 830" stroke="#2b5686" stroke-width="6" fill="none" stroke-opacity="0.5"/>
<path d="M850 1100 C850 960 810 880 750 830" stroke="#2b5686" stroke-width="6" fill="none" stroke-opacity="0.5"/>
"""
    return _svg(body, width, height)


def head_svg(width: int, height: int) -> str:
    """Ears, face, nose, blush and the front hair (bangs with a side part)."""
    body = f"""
<defs>
 <radialGradient id="fc" cx="500" cy="430" r="230" gradientUnits="userSpaceOnUse">
  <stop offset="0" stop-color="#fbe0cf"/><stop offset="0.75" stop-color="{SKIN}"/>
  <stop offset="1" stop-color="{SKIN_SHADE}"/>
 </radialGradient>
 <radialGradient id="bl" cx="0" cy="0" r="1">
  <stop offset="0" stop-color="#f08c8c" stop-opacity="0.35"/><stop offset="1" stop-color="#f08c8c" stop-opacity="0"/>
 </radialGradient>
 <linearGradient id="hf" x1="0" y1="210" x2="0" y2="420" gradientUnits="userSpaceOnUse">
  <stop offset="0" stop-color="{HAIR_LIGHT}"/><stop offset="1" stop-color="{HAIR}"/>
 </linearGradient>
</defs>
<ellipse cx="338" cy="478" rx="26" ry="40" fill="{SKIN_SHADE}"/>
<ellipse cx="662" cy="478" rx="26" ry="40" fill="{SKIN_SHADE}"/>
<path d="M340 430 C340 300 410 250 500 250 C590 250 660 300 660 430 C660 520 640 580 600 620
 C570 650 535 668 500 668 C465 668 430 650 400 620 C360 580 340 520 340 430 Z" fill="url(#fc)"/>
<ellipse cx="412" cy="545" rx="40" ry="24" fill="#f19a95" fill-opacity="0.14"/>
<ellipse cx="588" cy="545" rx="40" ry="24" fill="#f19a95" fill-opacity="0.14"/>
<path d="M503 478 C506 505 510 522 514 532" stroke="#e2a98c" stroke-width="4" fill="none"
 stroke-linecap="round" stroke-opacity="0.6"/>
<path d="M486 543 C493 550 507 550 514 543" stroke="#cf9277" stroke-width="4.5" fill="none" stroke-linecap="round"/>
<path d="M330 470 C318 330 380 228 500 222 C610 218 684 300 672 470 C664 420 650 385 630 360
 C600 350 560 318 540 290 C500 330 420 360 350 380 C340 405 334 435 330 470 Z" fill="url(#hf)"/>
<path d="M540 290 C560 318 600 350 630 360 C600 320 575 300 540 290 Z" fill="{HAIR}"/>
<path d="M420 250 C470 232 540 232 590 252" stroke="#7a5444" stroke-width="6" fill="none"
 stroke-opacity="0.45" stroke-linecap="round"/>
"""
    return _svg(body, width, height)
