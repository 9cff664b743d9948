"""On-policy policy-gradient algorithms behind one trainer.

The contract: `Algorithm` and `Batch` (base.py), the optional group fast path `GroupUpdate`
(group.py); one run's state and the loop: `Trainer`, `train_group` (trainer.py); the arms,
built-in and plug-in, by name: `ARMS`, `make_arm` (arms.py).
"""

from .a2c import A2C, A2CConfig
from .arms import (
           ARMS,
           ENTRY_POINT_GROUP,
           RECORD_NAMES,
           Arm,
           Plugin,
           arm_config_hash,
           load_plugin,
           make_arm,
           plugin_arms,
)
from .base import Algorithm, Batch
from .config import ConfigError
from .group import GroupUpdate
from .ppo import PPO, PPOConfig
from .trainer import Trainer, train_group
from .trpo import TRPO, TRPOConfig
from .vpg import VPG, VPGConfig

__all__ = ["A2C", "ARMS", "ENTRY_POINT_GROUP", "RECORD_NAMES", "A2CConfig", "Algorithm", "Arm", "Batch", "ConfigError",
           "GroupUpdate", "PPO", "PPOConfig", "Plugin", "TRPO", "TRPOConfig", "Trainer", "VPG", "VPGConfig",
           "arm_config_hash", "load_plugin", "make_arm", "plugin_arms", "train_group"]
