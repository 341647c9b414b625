"""Typed settings, read once at the edge (CLI, job ``main()``, DAG task) and passed down.

Sources, strongest first: environment (``PIPELINES__SECTION__KEY``), then the TOML file
(``--config PATH``, default ``pipelines.toml`` in the working directory), then defaults.
Relative paths in the file are taken relative to the file's folder.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import warnings
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from pipelines.dedup.config import DedupConfig
from pipelines.embed.config import CatalogConfig, EventsConfig
from pipelines.encoder.config import ModelConfig
from pipelines.errors import ConfigError
from pipelines.evaluate.config import EvaluateConfig
from pipelines.lake.config import LakeConfig
from pipelines.methods.config import UsersConfig
from pipelines.neighbors.config import NeighborsConfig
from pipelines.publish.config import PublishConfig
from pipelines.recs.config import RecsConfig
from pipelines.runtime.redact import HIDDEN, is_secret_name, redact, scrub
from pipelines.runtime.spark_config import SparkConfig
from pipelines.validate.config import ValidateConfig
from pipelines.vectorstore.config import QdrantConfig

DEFAULT_CONFIG_FILE = "pipelines.toml"
ENV_PREFIX = "PIPELINES__"


# The key is named [validate], as the stage is; it shadows pydantic's deprecated validate().
warnings.filterwarnings("ignore", message='Field name "validate" in "Settings" shadows')


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    lake: LakeConfig
    spark: SparkConfig
    model: ModelConfig
    catalog: CatalogConfig
    events: EventsConfig
    qdrant: QdrantConfig
    validate: ValidateConfig
    publish: PublishConfig
    neighbors: NeighborsConfig
    dedup: DedupConfig
    recs: RecsConfig
    users: UsersConfig
    evaluate: EvaluateConfig

    @model_validator(mode="before")
    @classmethod
    def _sections_default(cls, data: Any) -> Any:
        """A section left out of the file and the environment takes its defaults."""
        if isinstance(data, dict):
            data = {name: {} for name in cls.model_fields} | data
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the TOML file arrives as init kwargs; the environment overrides it
        return env_settings, init_settings

    @property
    def qdrant_path(self) -> Path:
        return self.qdrant.path or self.lake.root / "qdrant"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _absolute(value: Path | None, base: Path) -> Path | None:
    if value is None:
        return None
    value = value.expanduser()
    return value if value.is_absolute() else (base / value).resolve()


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    settings.lake.root = _absolute(settings.lake.root, base)
    settings.catalog.source = _absolute(settings.catalog.source, base)
    settings.events.source = _absolute(settings.events.source, base)
    settings.qdrant.path = _absolute(settings.qdrant.path, base)
    settings.qdrant.api_key_file = _absolute(settings.qdrant.api_key_file, base)
    settings.neighbors.staging_dir = _absolute(settings.neighbors.staging_dir, base)
    settings.evaluate.dedup_gold = _absolute(settings.evaluate.dedup_gold, base)
    settings.dedup.gold_pairs = _absolute(settings.dedup.gold_pairs, base)
    return settings


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) is Annotated:
        return _without_none(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return _without_none(members[0]) if len(members) == 1 else Union[tuple(members)]  # noqa: UP007
    return annotation


def _descend(annotation: Any, part: str | int) -> tuple[Any, bool]:
    """The annotation one step down ``part`` of an error's loc, and whether ``part`` is a key
    the user wrote (not a tag pydantic adds for a union member)."""
    annotation = _without_none(annotation)
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return (field.annotation if field else Any), True
    if origin in (Union, UnionType):
        named = [m for m in get_args(annotation) if getattr(m, "__name__", None) == part]
        return (named[0] if named else Any), False
    if origin in (dict, list, tuple, set, frozenset):
        args = get_args(annotation)
        return (args[-1] if args else Any), True
    return annotation, annotation is Any


def _key_path(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    keys, annotation = [], Settings
    for part in loc:
        annotation, is_key = _descend(annotation, part)
        if is_key:
            keys.append(part)
    return tuple(keys)


def _env_name(keys: tuple[str | int, ...]) -> str:
    return ENV_PREFIX + "__".join(str(key).upper() for key in keys)


def _set_variable(name: str) -> str | None:
    # pydantic-settings matches variable names case-insensitively
    return next((n for n in os.environ if n.upper() == name), None)


def _known_keys(keys: tuple[str | int, ...]) -> list[str]:
    annotation: Any = Settings
    for part in keys[:-1]:
        annotation, _ = _descend(annotation, part)
    annotation = _without_none(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unknown_key(keys: tuple[str | int, ...]) -> str:
    key = ".".join(map(str, keys))
    variable = _set_variable(_env_name(keys))
    where = f" (environment variable {variable})" if variable else ""
    fix = "unset it or fix its spelling" if variable else "remove it or fix its spelling"
    close = difflib.get_close_matches(str(keys[-1]), _known_keys(keys), n=1)
    hint = f"did you mean {'.'.join(map(str, (*keys[:-1], close[0])))}? " if close else ""
    return f"{key}: unknown key{where}; {hint}{fix}"  # its value may be a misplaced secret


def _merged_message(errors: list[dict[str, Any]]) -> str:
    messages = list(dict.fromkeys(e["msg"].removeprefix("Value error, ") for e in errors))
    first, *others = messages
    return ", or ".join([first, *(m.removeprefix("Input should be ") for m in others)])


def _bad_value(keys: tuple[str | int, ...], errors: list[dict[str, Any]]) -> str:
    error = errors[0]
    value = error.get("input")
    secret = any(is_secret_name(key) for key in keys if isinstance(key, str))
    if error["type"] == "missing":
        shown = "<missing>"
    else:
        shown = HIDDEN if secret else redact(keys[-1] if keys else "", value)
    hidden = value if secret and isinstance(value, str) else None
    message = scrub(_merged_message(errors), hidden)
    key = ".".join(map(str, keys))
    return f"{key} = {shown}: {message} (set in the file or as {_env_name(keys)})"


def describe_validation_error(exc: ValidationError, origin: str) -> str:
    by_key: dict[tuple[str | int, ...], list[dict[str, Any]]] = {}
    for error in exc.errors():
        by_key.setdefault(_key_path(error["loc"]), []).append(error)
    lines = [f"invalid configuration ({origin}):"]
    for keys, errors in by_key.items():
        unknown = errors[0]["type"] == "extra_forbidden"
        lines.append(f"  - {_unknown_key(keys) if unknown else _bad_value(keys, errors)}")
    return "\n".join(lines)


def describe_settings_error(exc: SettingsError) -> str:
    """A variable pydantic-settings could not parse (a dict or list that is not JSON)."""
    section = re.search(r'field "(\w+)"', str(exc))
    if section is None:
        return f"invalid configuration (environment): {exc}"
    prefix = _env_name((section.group(1),)) + "__"
    names = sorted(n for n in os.environ if n.upper().startswith(prefix)) or [prefix + "*"]
    return (
        f"invalid configuration (environment): {', '.join(names)} cannot be read; a dict or"
        ' list value must be JSON, e.g. PIPELINES__SPARK__CONF=\'{"spark.executor.memory": "4g"}\''
    )


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate the settings once. ``path=None`` reads ./pipelines.toml if present."""
    explicit = path is not None
    file = Path(path if explicit else DEFAULT_CONFIG_FILE).expanduser()
    if explicit and not file.is_file():
        raise ConfigError(
            f"config file {file} does not exist; pass an existing --config PATH"
            " (pipelines.example.toml is a commented example)"
        )
    data = _read_toml(file) if file.is_file() else {}
    origin = str(file) if file.is_file() else "defaults and environment"
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origin)) from None
    except SettingsError as exc:
        raise ConfigError(describe_settings_error(exc)) from None
    base = file.resolve().parent if file.is_file() else Path.cwd()
    return _resolve_paths(settings, base)
