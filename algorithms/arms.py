"""The arms: the names the CLI and the grid use, each an algorithm class with its default config.

ARMS maps an arm name (the name the CLI uses) to its algorithm class and default
config. `make_arm("ppo_clip:clip_eps=0.1")` resolves an arm with overrides.

A user's own algorithm is an arm too (a plug-in): `make_arm("mypkg.mymodule:NAME")` imports
`mypkg.mymodule` and takes `NAME` from it, an (Algorithm subclass, default config) pair like
an ARMS entry; installed packages can declare such pairs in the entry-point group
`pgsuite.arms`, named like built-ins. A plug-in's module, class and version (its
distribution's with a digest of its files, else the SHA-256 of the source of every module of
the user's tree that its class and config come from or import) go into its config hash.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import sys
import types
from dataclasses import dataclass, replace
from pathlib import Path

from .a2c import A2C, A2CConfig, TunedA2CConfig
from .a2c_tr import A2CTrustRegion, A2CTrustRegionConfig
from .base import Algorithm
from .cem import CEM, CEMConfig
from .config import BaseConfig, ConfigError, config_dict, config_hash, with_overrides
from .ppo import PPO, PPOConfig
from .task_defaults import defaults_for
from .toggles import TOGGLES, apply_preset, preset_name, set_toggles
from .trpo import TRPO, TRPOConfig
from .vpg import VPG, VPGConfig

ARMS: dict[str, tuple[type[Algorithm], BaseConfig]] = {
    "ppo_clip": (PPO, PPOConfig(objective="clip")),
    "ppo_klpen": (PPO, PPOConfig(objective="kl_adaptive")),
    "ppo_kl_fixed": (PPO, PPOConfig(objective="kl_fixed")),
    "ppo_noclip": (PPO, PPOConfig(objective="none")),
    "vpg": (VPG, VPGConfig()),
    "vpg_section4": (VPG, VPGConfig(lr_rule="section4", lr=3e-4, kl_target=0.01)),
    "a2c": (A2C, TunedA2CConfig()),
    "a2c_sb3": (A2C, A2CConfig()),
    "a2c_tr": (A2CTrustRegion, A2CTrustRegionConfig()),
    "cem": (CEM, CEMConfig()),
    "trpo": (TRPO, TRPOConfig()),
    "npg": (TRPO, TRPOConfig(line_search=False)),
}
# Arms whose runs were recorded under another name before the name moved to another
# configuration: their run directories and config hashes keep that name, so their committed
# records stay theirs. `vpg_section4` was `vpg` (the section 4 rule, issue 22); `a2c_sb3`
# was `a2c` (SB3's defaults with rl-zoo's `normalize: true`, issue 17).
RECORD_NAMES = {"vpg_section4": "vpg", "a2c_sb3": "a2c"}


ENTRY_POINT_GROUP = "pgsuite.arms"


def arm_config_hash(record_name: str, algorithm: str, config: dict, plugin: dict | None = None) -> str:
    """An arm's config hash from data: its record name, its algorithm class's name, its
    resolved config (`config_dict`) and, for a plug-in, where its code comes from. The one
    definition: `Arm.config_hash` and the check of a recorded config.json both use it."""
    payload = {"arm": record_name, "algorithm": algorithm, "config": config}
    if plugin is not None:  # two versions of a user's code never share a run directory
        payload["plugin"] = plugin
    return config_hash(payload)


@dataclass(frozen=True)
class Plugin:
    """Where a plug-in arm's code comes from: what its config hash and config.json record."""

    module: str
    attribute: str
    algorithm: str  # the class's module-qualified name
    version: str  # "<distribution> <version>", or "sha256:<digest of the module's source file>"
    entry_point: str = ""  # the entry-point name, where it was declared as one

    def record(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


_PLUGINS: dict[str, tuple[type[Algorithm], BaseConfig, Plugin]] = {}


def _entry_points() -> dict:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def plugin_arms() -> list[str]:
    """The arm names declared by installed packages (entry-point group `pgsuite.arms`)."""
    return sorted(n for n in _entry_points() if n not in ARMS)


def _outside_user_tree(path: Path) -> bool:
    """The standard library, site-packages, and the suite's own packages (their numbers are
    pinned by benchmarks/fingerprint.py, not by a plug-in's hash)."""
    roots = {Path(p).resolve() for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    own = Path(__file__).resolve().parents[1]
    return ("site-packages" in path.parts or "dist-packages" in path.parts
            or any(root in path.parents for root in roots)
            or any((own / package) in path.parents for package in ("algorithms", "suite")))


def user_modules(*objects) -> list:
    """The modules of the user's own tree that `objects` (classes, with their MROs) come from,
    and, transitively, the user's modules those import from: what a plug-in's numbers depend on
    outside installed packages."""
    found, todo = {}, []
    for obj in objects:
        if isinstance(obj, types.ModuleType):
            todo.append(obj)
            continue
        for klass in (obj.__mro__ if isinstance(obj, type) else (obj,)):
            todo.append(sys.modules.get(getattr(klass, "__module__", None) or ""))
    while todo:
        module = todo.pop()
        source = getattr(module, "__file__", None)
        if module is None or not source or module.__name__ in found or _outside_user_tree(Path(source).resolve()):
            continue
        found[module.__name__] = module
        for value in vars(module).values():
            todo.append(value if isinstance(value, types.ModuleType)
                        else sys.modules.get(getattr(value, "__module__", None) or ""))
    return [found[name] for name in sorted(found)]


def _version_of(module, algorithm: type, default: BaseConfig) -> str:
    """The installed distribution that holds the module's file, with the SHA-256 of all its
    files; else the SHA-256 of the source of every module of the user's tree that the class,
    its config and the plug-in module come from or import (`user_modules`): any edit to that
    code is another version, so it never shares a run directory with the old one."""
    source = getattr(module, "__file__", None)
    if not source:
        raise ConfigError(f"module {module.__name__!r} has no source file to version it by")
    here = Path(source).resolve()
    for name in importlib.metadata.packages_distributions().get(module.__name__.split(".")[0], []):
        files = importlib.metadata.distribution(name).files or []
        located = [Path(str(f.locate())).resolve() for f in files]
        if here in located:
            digest = hashlib.sha256()
            for path in sorted(p for p in located if p.suffix == ".py" and p.is_file()):
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
            return f"{name} {importlib.metadata.version(name)} sha256:{digest.hexdigest()}"
    digest = hashlib.sha256()
    for found in user_modules(module, algorithm, type(default)):
        digest.update(found.__name__.encode() + b"\0" + Path(found.__file__).read_bytes())
    return "sha256:" + digest.hexdigest()


def load_plugin(spec_name: str, module_name: str, attribute: str, entry_point=None
                ) -> tuple[type[Algorithm], BaseConfig, Plugin]:
    """Import a plug-in arm and check it: an (Algorithm subclass, valid default config) pair.
    Raises ConfigError with one line naming the spec and the reason."""
    if spec_name in _PLUGINS:
        return _PLUGINS[spec_name]
    where = f"arm {spec_name!r}"
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as err:  # any failure of the user's module (sys.exit too) is reported
        raise ConfigError(f"{where}: cannot import {module_name!r} ({type(err).__name__}: {err})") from None
    try:
        value = entry_point.load() if entry_point is not None else getattr(module, attribute)
    except (Exception, SystemExit) as err:
        raise ConfigError(f"{where}: {module_name!r} has no arm {attribute!r} ({type(err).__name__}: {err})") from None
    if not (isinstance(value, tuple) and len(value) == 2):
        raise ConfigError(f"{where}: {attribute!r} is not an (Algorithm subclass, default config) pair")
    algorithm, default = value
    if not (isinstance(algorithm, type) and issubclass(algorithm, Algorithm)):
        raise ConfigError(f"{where}: {algorithm!r} is not a subclass of algorithms.Algorithm")
    if not isinstance(default, BaseConfig):
        raise ConfigError(f"{where}: its default config {type(default).__name__} is not an algorithms BaseConfig "
                          "dataclass")
    try:
        replace(default)  # runs the config's own checks again
        config_dict(default)
    except (Exception, SystemExit) as err:
        raise ConfigError(f"{where}: invalid default config ({type(err).__name__}: {err})") from None
    version = _version_of(module, algorithm, default)
    plugin = Plugin(module_name, attribute, f"{algorithm.__module__}.{algorithm.__qualname__}", version,
                    entry_point.name if entry_point is not None else "")
    _PLUGINS[spec_name] = (algorithm, default, plugin)
    return _PLUGINS[spec_name]


def _resolve_name(name: str, parts: list[str]) -> tuple[str, type[Algorithm], BaseConfig, Plugin | None, list[str]]:
    """(arm name, class, default, plug-in or None, the override parts left) for a spec's head."""
    if name in ARMS:
        return name, *ARMS[name], None, parts
    if "." in name or (parts and "=" not in parts[0]):  # module:NAME
        if not parts or "=" in parts[0]:
            raise ConfigError(f"arm {name!r}: a plug-in is named module:NAME (mypkg.mymodule:MY_ARM)")
        spec_name = f"{name}:{parts[0]}"
        return spec_name, *load_plugin(spec_name, name, parts[0]), parts[1:]
    found = _entry_points().get(name)
    if found is None:
        declared = plugin_arms()
        raise ConfigError(f"unknown arm {name!r}; valid arms: {', '.join([*ARMS, *declared])}, or a plug-in "
                          "module:NAME")
    module_name, _, attribute = found.value.partition(":")
    algorithm, default, plugin = load_plugin(name, module_name, attribute, found)
    return name, algorithm, default, plugin, parts


@dataclass(frozen=True)
class Arm:
    """An arm: a named algorithm with its fully resolved config."""

    name: str
    algorithm: type[Algorithm]
    config: BaseConfig
    overrides: tuple[tuple[str, str], ...] = ()
    task_defaults: str = ""  # the source of the task's own defaults, where it has them
    plugin: Plugin | None = None  # where a plug-in arm's code comes from
    default: BaseConfig | None = None  # the arm's default config (before task defaults and overrides)

    @property
    def label(self) -> str:
        """The arm as one would type it: name[:key=value...]."""
        return ":".join([self.name, *(f"{k}={v}" for k, v in self.overrides)])

    @property
    def optimizations(self) -> str:
        """The code-level preset the resolved config matches: minimal, baselines, all or custom."""
        return preset_name(self.config, self.default if self.default is not None else ARMS[self.name][1])

    @property
    def record_name(self) -> str:
        """The name in its run directories and config hash (RECORD_NAMES; a plug-in's module.NAME
        or entry-point name; else its own)."""
        return RECORD_NAMES.get(self.name, self.name.replace(":", "."))

    @property
    def config_hash(self) -> str:
        return arm_config_hash(self.record_name, self.algorithm.__name__, config_dict(self.config),
                               self.plugin.record() if self.plugin is not None else None)


def make_arm(spec: str, task: str | None = None) -> Arm:
    """Resolve `name[:key=value[:key=value...]]`, on `task` if given (a task with its own
    defaults, `task_defaults.py`, changes them before the spec's overrides); raises
    ConfigError with the valid choices."""
    name, *parts = spec.strip().split(":")
    name, algorithm, default, plugin, parts = _resolve_name(name, parts)
    arm_default = default
    # task defaults are the built-in algorithms' (a plug-in class of the same name gets none)
    for_task = None if plugin is not None else defaults_for(task, algorithm.__name__)
    if for_task is not None:
        default = with_overrides(default, for_task[0], owner=f"{task} defaults")
    overrides: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"malformed override {part!r} in {spec!r}; expected key=value")
        if key.strip() in overrides:
            raise ConfigError(f"{key.strip()!r} is given twice in {spec!r}")
        overrides[key.strip()] = value.strip()
    # preset= and on=/off= (code-level toggles) first, then plain field overrides
    preset = overrides.pop("preset", None)
    config = apply_preset(default, preset) if preset else default
    switches = {k: overrides.pop(k).split("+") for k in ("on", "off") if k in overrides}
    _refuse_contradictions(spec, switches, overrides)
    config = set_toggles(config, on=switches.get("on", []), off=switches.get("off", []))
    config = with_overrides(config, overrides, owner=f"arm {name}")
    shown = tuple(([("preset", preset)] if preset else []) + [(k, "+".join(v)) for k, v in switches.items()]
                  + [(k, _show(getattr(config, k))) for k in overrides])
    return Arm(name, algorithm, config, shown, for_task[1] if for_task else "", plugin, arm_default)


def _refuse_contradictions(spec: str, switches: dict[str, list[str]], overrides: dict[str, str]) -> None:
    """A toggle both on and off, or a field both toggled and set, has no one meaning."""
    both = sorted(set(switches.get("on", [])) & set(switches.get("off", [])))
    if both:
        raise ConfigError(f"toggle {both[0]!r} is both on and off in {spec!r}")
    for name in switches.get("on", []) + switches.get("off", []):
        clash = sorted(set(TOGGLES.get(name, {})) & set(overrides))
        if clash:
            raise ConfigError(f"{clash[0]!r} is set by toggle {name!r} and by {clash[0]}= in {spec!r}; give one")


def _show(value) -> str:
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)

