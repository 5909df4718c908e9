"""The digital human: pygame renderer, animation state machine, lip sync.

Arrives with the avatar issue; the foundation shows replies on the local page.
"""

__all__: list[str] = []
