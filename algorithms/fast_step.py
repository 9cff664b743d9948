"""The paper's seven MuJoCo -v5 tasks stepped without gymnasium's per-step Python, every
transition bit for bit what `gym.make(task).step` returns (issue 37).

gymnasium's step for these tasks is `mj_step` (frame_skip frames) plus `mj_rnePostConstraint`
plus a few small numpy operations, wrapped in an info dict, properties computed twice, a shape
check, OrderEnforcing and TimeLimit: 2-27 us of Python per step over `mj_step`'s own time
(benchmarks/profile_grid.py, "env Python"). A `FastStep` does the same arithmetic in the same
order on the same dtypes, with the per-task constants read from the gymnasium env instance
itself (so a `gym.make(task, **kwargs)` variant is covered), and keeps the TimeLimit wrapper's
counter as gymnasium would. Resets go through gymnasium (they draw from its RNG); the env stays
the reference and the fallback: `fast_step(env)` returns None for anything it does not cover
(another task class, a subclass, other wrappers, rendering, another gymnasium version), and the
collector then calls `env.step`. tests/test_fast_step.py checks every task against gymnasium
bit for bit (observations, rewards, terminated, truncated, reset states) over random and policy
actions, across terminations and time limits.

Where gymnasium's expression is a numpy call on a small array (np.sum(np.square(a)), np.sin of
two angles), the same call is made on an array of the same shape and dtype: numpy's SIMD paths
can depend on length and layout, so nothing is batched across envs that gymnasium computes per env.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import gymnasium as gym
import numpy as np

# the gymnasium release these steps were written from and are tested against
# (gymnasium/envs/mujoco/*_v5.py); under any other release the collector uses env.step
GYMNASIUM_VERSION = "1.4.0"

Step = Callable[[np.ndarray], tuple]  # action -> (observation, reward, terminated, truncated)


def fast_step(env: gym.Env) -> Step | None:
    """`env.step` without its per-step Python for an env exactly as `gym.make` builds one of the
    covered -v5 tasks (TimeLimit over OrderEnforcing over the task class itself, no rendering),
    returning (observation, reward, terminated, truncated); None for anything else."""
    if gym.__version__ != GYMNASIUM_VERSION:
        return None
    limit = env
    if type(limit) is not gym.wrappers.TimeLimit or type(limit.env) is not gym.wrappers.OrderEnforcing:
        return None
    task = limit.env.env
    if not type(task).__module__.startswith("gymnasium.envs.mujoco."):  # MuJoCo imported only for its tasks
        return None
    build = _builders().get(type(task))
    if build is None or task.render_mode is not None:
        return None
    import mujoco

    body = build(task)
    model, data, frame_skip = task.model, task.data, task.frame_skip
    ctrl = data.ctrl
    mj_step, rne_post = mujoco.mj_step, mujoco.mj_rnePostConstraint

    def simulate(action: np.ndarray) -> None:  # MujocoEnv.do_simulation and _step_mujoco_simulation
        if action.shape != ctrl.shape:
            raise ValueError(f"Action dimension mismatch. Expected {ctrl.shape}, found {action.shape}")
        ctrl[:] = action
        mj_step(model, data, nstep=frame_skip)
        rne_post(model, data)

    def step(action) -> tuple:
        action = np.asarray(action)
        observation, reward, terminated = body(simulate, action)
        limit._elapsed_steps += 1  # TimeLimit.step
        return observation, reward, terminated, limit._elapsed_steps >= limit._max_episode_steps

    return step


def _forward(task, clip_velocity: bool, skip: int, healthy) -> Callable:
    """HalfCheetah, Swimmer, Hopper, Walker2d: forward progress of qpos[0] over dt, minus the
    control cost; the walkers add the healthy reward and end when unhealthy."""
    qpos, qvel, dt = task.data.qpos, task.data.qvel, task.dt
    forward_weight, ctrl_weight = task._forward_reward_weight, task._ctrl_cost_weight
    skip = skip if task._exclude_current_positions_from_observation else 0
    n_pos = qpos.shape[0] - skip
    size = n_pos + qvel.shape[0]

    def body(simulate, action):
        x_before = qpos[0]
        simulate(action)
        x_velocity = (qpos[0] - x_before) / dt  # MujocoEnv.dt: timestep * frame_skip, fixed
        observation = np.empty(size)
        observation[:n_pos] = qpos[skip:]
        if clip_velocity:  # np.clip(qvel, -10, 10): min(max(v, -10), 10), NaN kept
            np.minimum(np.maximum(qvel, -10.0), 10.0, out=observation[n_pos:])
        else:
            observation[n_pos:] = qvel
        ctrl_cost = ctrl_weight * np.square(action).sum()  # np.sum's reduction, without its wrapper
        if healthy is None:
            return observation, forward_weight * x_velocity - ctrl_cost, False
        is_healthy = healthy()
        reward = (forward_weight * x_velocity + is_healthy * task._healthy_reward) - ctrl_cost
        return observation, reward, (not is_healthy) and task._terminate_when_unhealthy

    return body


def _half_cheetah(task) -> Callable:
    return _forward(task, False, 1, None)


def _swimmer(task) -> Callable:
    # Swimmer's x velocity is element 0 of (xy_after - xy_before) / dt: the same float64 ops
    return _forward(task, False, 2, None)


def _hopper(task) -> Callable:
    qpos, qvel = task.data.qpos, task.data.qvel
    (min_state, max_state), (min_z, max_z) = task._healthy_state_range, task._healthy_z_range
    min_angle, max_angle = task._healthy_angle_range

    def healthy() -> bool:
        # HopperEnv.is_healthy: every element of state_vector()[2:] (qpos[2:], then qvel) strictly
        # inside the state range: the same as its least above and its greatest below (a NaN
        # fails both ways, as it fails gymnasium's comparisons)
        z, angle = qpos[1:3]
        joints = qpos[2:]
        return bool(min_state < joints.min() and joints.max() < max_state and min_state < qvel.min()
                    and qvel.max() < max_state and min_z < z < max_z and min_angle < angle < max_angle)

    return _forward(task, True, 1, healthy)


def _walker2d(task) -> Callable:
    qpos = task.data.qpos
    (min_z, max_z), (min_angle, max_angle) = task._healthy_z_range, task._healthy_angle_range

    def healthy() -> bool:
        z, angle = qpos[1:3]
        return bool(min_z < z < max_z and min_angle < angle < max_angle)

    return _forward(task, True, 1, healthy)


def _inverted_pendulum(task) -> Callable:
    qpos, qvel = task.data.qpos, task.data.qvel
    n_pos = qpos.shape[0]
    size = n_pos + qvel.shape[0]

    def body(simulate, action):
        simulate(action)
        observation = np.empty(size)
        observation[:n_pos], observation[n_pos:] = qpos, qvel
        terminated = bool(not np.isfinite(observation).all() or (np.abs(observation[1]) > 0.2))
        return observation, int(not terminated), terminated

    return body


def _inverted_double_pendulum(task) -> Callable:
    data = task.data
    qpos, qvel, site_xpos, qfrc_constraint = data.qpos, data.qvel, data.site_xpos, data.qfrc_constraint
    healthy_reward = task._healthy_reward

    def body(simulate, action):
        simulate(action)
        x, _, y = site_xpos[0]
        observation = np.concatenate([qpos[:1], np.sin(qpos[1:]), np.cos(qpos[1:]),
                                      np.minimum(np.maximum(qvel, -10.0), 10.0),
                                      np.minimum(np.maximum(qfrc_constraint[:1], -10.0), 10.0)])
        terminated = bool(y <= 1)
        v1, v2 = qvel[1:3]
        dist_penalty = 0.01 * x**2 + (y - 2) ** 2
        vel_penalty = 1e-3 * v1**2 + 5e-3 * v2**2
        return observation, healthy_reward * int(not terminated) - dist_penalty - vel_penalty, terminated

    return body


def _reacher(task) -> Callable:
    data = task.data
    qpos, qvel, xpos = data.qpos, data.qvel, data.xpos
    fingertip, target = data.body("fingertip").id, data.body("target").id  # get_body_com(name) is xpos[id]
    dist_weight, ctrl_weight = task._reward_dist_weight, task._reward_control_weight

    def body(simulate, action):
        simulate(action)
        theta = qpos[:2].copy()
        vec = xpos[fingertip] - xpos[target]
        reward_dist = -np.sqrt(vec.dot(vec)) * dist_weight  # np.linalg.norm of a 1-D float64 vector
        reward_ctrl = -np.square(action).sum() * ctrl_weight
        observation = np.concatenate([np.cos(theta), np.sin(theta), qpos[2:], qvel[:2], vec[:2]])
        return observation, reward_dist + reward_ctrl, False

    return body


@functools.cache
def _builders() -> dict:
    from gymnasium.envs.mujoco import (
        half_cheetah_v5,
        hopper_v5,
        inverted_double_pendulum_v5,
        inverted_pendulum_v5,
        reacher_v5,
        swimmer_v5,
        walker2d_v5,
    )
    return {half_cheetah_v5.HalfCheetahEnv: _half_cheetah, hopper_v5.HopperEnv: _hopper,
            walker2d_v5.Walker2dEnv: _walker2d, swimmer_v5.SwimmerEnv: _swimmer,
            inverted_pendulum_v5.InvertedPendulumEnv: _inverted_pendulum,
            inverted_double_pendulum_v5.InvertedDoublePendulumEnv: _inverted_double_pendulum,
            reacher_v5.ReacherEnv: _reacher}

