"""Quality checks run on parsed raw files before they are loaded."""

from pipelines.quality.suites import (
    COMMUNE_CODE_REGEX,
    NUMBER_REGEX,
    FrameSpec,
    ValidationFailed,
    ValidationReport,
    validate_frame,
)

__all__ = [
    "COMMUNE_CODE_REGEX",
    "NUMBER_REGEX",
    "FrameSpec",
    "ValidationFailed",
    "ValidationReport",
    "validate_frame",
]
