"""The grid's live display: runs done / total, aggregate env steps/s, ETA and the runs in
flight, as a live table on a terminal (rich) or a line per finished run otherwise."""

from __future__ import annotations

import sys
import time

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from suite.grid.plan import RunSpec
from suite.records.result import RunResult, Status


class GridDisplay:
    def __init__(self, specs: list[RunSpec], todo: list[RunSpec], mode: str = "auto"):
        self.total = len(specs)
        self.done = len(specs) - len(todo)
        self.failed = 0
        self.remaining_steps = {spec.key: spec.steps for spec in todo}
        self.flight: dict[str, dict[str, float]] = {}
        self.row_hooks: list = []  # called with every progress row seen: (run key, row)
        self.started = time.time()
        if mode == "auto":
            mode = "live" if sys.stdout.isatty() else "lines"
        self.mode = mode
        self.live = None
        if mode == "live":
            self.live = Live(self._render(), refresh_per_second=2, transient=False)
            self.live.start()
        self.say(f"{self.total} runs: {self.done} already done, {len(todo)} to train")

    def say(self, text: str) -> None:
        if self.live is not None:
            self.live.console.print(text)
        elif self.mode == "lines":
            print(text, flush=True)

    def start(self, spec: RunSpec) -> None:
        self.flight[spec.key] = {"step": 0, "sps": 0.0, "steps": spec.steps}
        self._refresh()

    def row(self, key: str, row: dict[str, float]) -> None:
        for hook in self.row_hooks:
            hook(key, row)
        if key in self.flight:
            self.flight[key].update(step=row["global_step"], sps=row["steps_per_second"])
            if "episode_return" in row:
                self.flight[key]["ret"] = row["episode_return"]
            self.remaining_steps[key] = self.flight[key]["steps"] - row["global_step"]
            self._refresh()

    def finish(self, spec: RunSpec, result: RunResult) -> None:
        self.flight.pop(spec.key, None)
        status = result.status
        if status == Status.PARTIAL:  # stopped by an interrupt: not done
            self.say(f"{spec.key}: stopped at step {result.steps or 0:,}, checkpoint saved")
            self._refresh()
            return
        self.remaining_steps.pop(spec.key, None)
        self.done += 1
        self.failed += status == Status.FAILED
        self.say(f"[{self.done}/{self.total}] {spec.key}: {status} {result.shown}")  # a diverged run says why
        self._refresh()

    def summary(self) -> str:
        rate = sum(f["sps"] for f in self.flight.values())
        left = sum(self.remaining_steps.values())
        eta = f"{left / rate / 60:.1f} min" if rate > 0 else "?"
        return (f"runs {self.done}/{self.total} done, {self.failed} failed, {len(self.flight)} in flight | "
                f"{rate:,.0f} env steps/s | ETA {eta} | elapsed {(time.time() - self.started) / 60:.1f} min")

    def _render(self):
        table = Table()
        for column in ("run in flight", "step", "steps/s", "recent return"):
            table.add_column(column)
        for key, f in sorted(self.flight.items()):
            recent = f"{f['ret']:,.1f}" if "ret" in f else "-"
            table.add_row(key, f"{int(f['step']):,}/{int(f['steps']):,}", f"{f['sps']:,.0f}", recent)
        # the status line above the table, as wide as the terminal (a table title wraps at the table's width)
        return Group(Text(self.summary(), no_wrap=True, overflow="ellipsis"), table)

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._render())

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
        if self.mode != "none":
            print(self.summary(), flush=True)
