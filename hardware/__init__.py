"""Device interfaces and drivers, each with a simulated driver for tests and demos.

Microphone, speaker, camera, touch, printer and card reader.

The foundation runs on touch/keyboard text alone; the device drivers arrive
with the voice, avatar and runtime issues.
"""

from hardware.errors import DeviceError, DeviceUnavailableError

__all__ = ["DeviceError", "DeviceUnavailableError"]
