"""The contract's shapes for delivery targets and delivery statistics.

A target's ``config`` is validated by the model of its mode (``CONFIGS``); each
model lists every setting that runner reads. Secrets (header values) are kept as
given and masked by the services whenever a target or a job is shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lora_desktop.models.tables import NAME_MAX

TargetMode = Literal["http", "cli", "a1111", "comfyui"]
TARGET_MODES: tuple[str, ...] = ("http", "cli", "a1111", "comfyui")


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("give an http:// or https:// URL")
    return value


def _check_argv(value: list[str]) -> list[str]:
    if not value or not value[0]:
        raise ValueError("give the program to run and its arguments")
    for arg in value:
        for placeholder in ("{prompt_file}", "{prompt}"):
            if placeholder in arg and arg != placeholder:
                raise ValueError(f"{placeholder} must be a whole argument, not part of {arg!r}")
    return value


def _check_target_name(value: str) -> str:
    name = value.strip()
    if not name or any(ord(c) < 32 for c in name):
        raise ValueError("give a name without control characters")
    return name


Url = Annotated[str, Field(max_length=2000), AfterValidator(_check_url)]
Argv = Annotated[list[str], AfterValidator(_check_argv)]
TargetName = Annotated[str, Field(max_length=NAME_MAX), AfterValidator(_check_target_name)]
Timeout = Annotated[float, Field(gt=0, le=3600)]
Attempts = Annotated[int, Field(ge=1, le=10)]
Headers = dict[str, str]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_attempts: Attempts = 3


class HttpConfig(_Config):
    """``http``: POST ``{"prompt", "negative_prompt", "metadata"}`` to ``url``."""

    url: Url
    headers: Headers = Field(default_factory=dict)
    negative_prompt: str = ""
    timeout: Timeout = 30.0


class CliConfig(_Config):
    """``cli``: run ``argv`` (``{prompt_file}``, ``{prompt}`` as whole arguments) in ``cwd``."""

    argv: Argv
    cwd: str | None = None
    timeout: Timeout = 60.0


class A1111Config(_Config):
    """``a1111``: txt2img on an AUTOMATIC1111, Forge or SD.Next server at ``base_url``."""

    base_url: Url
    output_dir: str = Field(min_length=1)
    headers: Headers = Field(default_factory=dict)
    negative_prompt: str = ""
    steps: Annotated[int, Field(ge=1, le=500)] | None = None
    width: Annotated[int, Field(ge=64, le=8192)] | None = None
    height: Annotated[int, Field(ge=64, le=8192)] | None = None
    sampler_name: str | None = None
    cfg_scale: Annotated[float, Field(ge=0, le=100)] | None = None
    seed: int | None = None
    batch_size: Annotated[int, Field(ge=1, le=64)] | None = None
    timeout: Timeout = 300.0


class ComfyUIConfig(_Config):
    """``comfyui``: an API-format ``workflow`` queued on the server at ``base_url``."""

    base_url: Url
    output_dir: str = Field(min_length=1)
    workflow: dict[str, Any]
    headers: Headers = Field(default_factory=dict)
    negative_prompt: str | None = None
    poll_interval: Annotated[float, Field(gt=0, le=60)] = 0.5
    timeout: Timeout = 300.0


CONFIGS: dict[str, type[_Config]] = {
    "http": HttpConfig,
    "cli": CliConfig,
    "a1111": A1111Config,
    "comfyui": ComfyUIConfig,
}


class TargetIn(BaseModel):
    """A new target: its unique name, its mode and that mode's settings."""

    model_config = ConfigDict(extra="forbid")

    name: TargetName
    mode: TargetMode
    config: dict[str, Any] = Field(default_factory=dict)


class TargetPatch(BaseModel):
    """A change to a target: a new name, and settings merged over the current ones
    (a setting given as None goes back to its default)."""

    model_config = ConfigDict(extra="forbid")

    name: TargetName | None = None
    config: dict[str, Any] = Field(default_factory=dict)


class TargetOut(BaseModel):
    """A target as the contract shows it: header values masked."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    mode: str
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Latency(BaseModel):
    """Duration percentiles of finished jobs, in milliseconds (None without jobs)."""

    model_config = ConfigDict(frozen=True)

    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None


class DeliveryStats(BaseModel):
    """Counts per status and per target, and how long finished jobs took."""

    model_config = ConfigDict(frozen=True)

    total: int
    by_status: dict[str, int]
    by_target: dict[str, dict[str, int]]
    attempts: int
    retried: int
    latency_ms: Latency
