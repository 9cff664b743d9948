"""How close PPO's stacked update is to its own arithmetic (issue 37): one grid group's
`update_group` (K members, one iteration's batch each, all epochs and minibatches) against the
matrix products alone that it cannot avoid, measured in the same process:

- update: `PPO.update_group` as the grid runs it (algorithms/ppo.py), CPU seconds, the
  median of --repeats calls on one captured batch;
- matmuls alone: the same count of minibatches, each with every matmul of its forward and
  backward passes (x W per layer, h^T d and d W^T for the gradients) at the group's shapes,
  on the same BLAS and one thread, nothing else.

Their ratio is how much the update could still shrink without other numbers: the rest (the
objective's closed form, tanh, the clip, Adam, gathering the minibatch) is what code can
cut; the products' own floats are fixed by the records.

    python benchmarks/update_floor.py --tasks HalfCheetah-v5,Hopper-v5 --group 11
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import algorithms.trainer as trainer_module  # noqa: E402
from algorithms import Trainer, make_arm, train_group  # noqa: E402
from algorithms.threads import pin_one_thread  # noqa: E402
from suite.records.files import atomic_write_json, environment_info  # noqa: E402


def captured_update(task: str, arm_name: str, group: int):
    """The members and batches of one grid iteration's stacked update (the first)."""
    arm = make_arm(arm_name, task)
    seen = {}
    original = trainer_module.update_members

    def capture(algorithms, batches):
        seen.setdefault("update", (algorithms, batches))
        return original(algorithms, batches)

    trainer_module.update_members = capture
    try:
        trainers = [Trainer(task, arm.algorithm, arm.config, seed=seed, total_steps=arm.config.batch_size)
                    for seed in range(group)]
        train_group(trainers, [None] * group, checkpoint_every=10**9)
    finally:
        trainer_module.update_members = original
    return seen["update"]


def median_cpu(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        function()
        times.append(time.process_time() - started)
    return float(np.median(times))


def matmuls_alone(net, rows: int, minibatches: int):
    """A callable doing the matrix products of `minibatches` forward + backward passes of the
    group's policy and value MLPs ([K, rows, in] x [K, in, out] per layer)."""
    rng = np.random.default_rng(0)
    plan = []
    for layers in (net.pol, net.val):
        for i, (w, _) in enumerate(layers):
            k, n_in, n_out = w.shape
            h = rng.standard_normal((k, rows, n_in)).astype(np.float32)
            d = rng.standard_normal((k, rows, n_out)).astype(np.float32)
            plan.append((i, h, w, d, np.empty_like(w)))

    def run():
        for _ in range(minibatches):
            for i, h, w, d, dw in plan:
                np.matmul(h, w)  # forward
                np.matmul(h.transpose(0, 2, 1), d, out=dw)  # dW = h^T d
                if i:
                    np.matmul(d, w.transpose(0, 2, 1))  # d h = d W^T
    return run


def measure(task: str, arm_name: str, group: int, repeats: int) -> dict:
    members, batches = captured_update(task, arm_name, group)
    cfg = members[0].config
    update = median_cpu(lambda: type(members[0]).update_group(members, batches), repeats)
    net = members[0].engine.net  # the stacked networks the calls above built
    size = batches[0].obs.shape[0]
    minibatches = cfg.num_epochs * -(-size // cfg.minibatch_size)
    floor = median_cpu(matmuls_alone(net, cfg.minibatch_size, minibatches), repeats)
    return {"task": task, "arm": arm_name, "group": group, "minibatches": minibatches,
            "update_cpu_seconds": update, "matmuls_cpu_seconds": floor, "x_matmuls": update / floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="HalfCheetah-v5,Hopper-v5,InvertedPendulum-v5")
    parser.add_argument("--algos", default="ppo_clip:preset=ppo1")
    parser.add_argument("--group", type=int, default=11, help="runs updated together (the grid's group size)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None, help="JSON file (default benchmarks/results/update-<time>.json)")
    args = parser.parse_args()
    pin_one_thread()
    rows = [measure(task.strip(), arm.strip(), args.group, args.repeats)
            for arm in args.algos.split(",") for task in args.tasks.split(",")]
    print("| task | arm | minibatches | update (CPU ms) | matmuls alone (CPU ms) | update / matmuls |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['task']} | {r['arm']} | {r['minibatches']} | {1e3 * r['update_cpu_seconds']:.0f} | "
              f"{1e3 * r['matmuls_cpu_seconds']:.0f} | {r['x_matmuls']:.2f} |")
    out = Path(args.out) if args.out else (Path(__file__).parent / "results" /
                                           f"update-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json")
    atomic_write_json(out, {"rows": rows, "machine": environment_info(), "repeats": args.repeats})
    print(f"saved {out}")


if __name__ == "__main__":
    main()
