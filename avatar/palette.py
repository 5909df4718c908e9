"""The avatar's colours and point type, shared by the renderer and the face drawing."""

from __future__ import annotations

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
