"""The digital human: pygame renderer, animation state machine, lip sync, screen layout.

pygame is imported only by :mod:`avatar.render`; the state machine, lip sync
and layout are pure and import without it.
"""

from avatar.animation import EMOTIONS, Animator, AnimatorConfig, AvatarState, Expression, Pose
from avatar.errors import AssetError, AvatarError, RenderError
from avatar.layout import Layout, ScreenModel
from avatar.lipsync import MouthShape, MouthTrack, SyncReport, sync_offsets, timeline_from_text

__all__ = [
    "EMOTIONS",
    "Animator",
    "AnimatorConfig",
    "AssetError",
    "AvatarError",
    "AvatarState",
    "Expression",
    "Layout",
    "MouthShape",
    "MouthTrack",
    "Pose",
    "RenderError",
    "ScreenModel",
    "SyncReport",
    "sync_offsets",
    "timeline_from_text",
]
