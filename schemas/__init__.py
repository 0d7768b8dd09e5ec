"""Pydantic models of every record trajkit writes; each carries ``schema_version``.

Records are the seams between stages (source → loop → trajectory → filters → dataset),
so they are plain data: printable, JSON-serialisable, and described by JSON Schema.
"""

from trajkit.schemas.manifests import (
    DatasetManifest,
    FileDigest,
    FilterReport,
    InputFile,
    ParentRef,
    RunCounts,
    RunManifest,
    YieldCounts,
)
from trajkit.schemas.task import Task
from trajkit.schemas.trajectory import (
    Action,
    ActionKind,
    ErrorInfo,
    ErrorKind,
    Message,
    Observation,
    Step,
    TeacherInfo,
    Termination,
    Timing,
    ToolCall,
    Trajectory,
    Usage,
    Verdict,
)
from trajkit.schemas.version import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Action",
    "ActionKind",
    "DatasetManifest",
    "ErrorInfo",
    "ErrorKind",
    "FileDigest",
    "FilterReport",
    "InputFile",
    "Message",
    "Observation",
    "ParentRef",
    "RunCounts",
    "RunManifest",
    "Step",
    "Task",
    "TeacherInfo",
    "Termination",
    "Timing",
    "ToolCall",
    "Trajectory",
    "Usage",
    "Verdict",
    "YieldCounts",
]
