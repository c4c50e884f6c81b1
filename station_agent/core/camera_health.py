"""Is the camera seeing the doorway? A cheap look at each frame. Pure.

A lens covered by a hand, tape or a bag gives a dark, flat image; a dead sensor or a blinding
light a flat one of any brightness. A real doorway, even at night, has texture. The door
state machine turns trouble that lasts into a tamper alarm.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from station_agent.core.door import CameraHealth

FLAT_STD = 2.5  # grey levels: below this the frame carries no picture
DARK_MEAN = 35.0
_SAMPLE_STEP = 8  # every 8th pixel each way: 1/64 of the frame is plenty for this


def classify(frame: npt.NDArray[np.uint8] | None) -> CameraHealth:
    if frame is None:
        return CameraHealth.MISSING
    sample = frame[::_SAMPLE_STEP, ::_SAMPLE_STEP]
    if float(sample.std()) >= FLAT_STD:
        return CameraHealth.OK
    return CameraHealth.COVERED if float(sample.mean()) < DARK_MEAN else CameraHealth.BLANK
