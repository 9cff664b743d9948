"""A wandb Report comparing the arms, one panel per task (wandb-workspaces).

Online it is saved to wandb and its URL printed; offline (the default without a wandb
login) its spec is written to a local JSON file, with how to publish it."""

from __future__ import annotations

import sys
from pathlib import Path

from suite.errors import SuiteError
from suite.grid.tracking import wandb_mode
from suite.records.files import atomic_write_text
from suite.records.result import Status
from suite.results.readers import load_runs

METRICS = ("episode_return", "approx_kl", "entropy")


def build_report(project: str, entity: str, runs_dir: str | Path, leaderboard: str | None = None):
    """The Report object: an intro, the leaderboard's text when given, and per task a panel
    grid with the runs of that task grouped by arm."""
    try:
        import wandb_workspaces.reports.v2 as wr
    except ImportError:
        raise SuiteError("the report needs wandb-workspaces: pip install -e '.[wandb]'") from None
    runs = load_runs(runs_dir)
    if not runs.empty:
        for r in runs[runs["status"] == Status.DAMAGED].itertuples():  # left out, by name
            print(f"left out (damaged): {r.path}: {r.reason}", file=sys.stderr)
    runs = runs[runs["status"].isin([Status.COMPLETE, Status.DIVERGED])] if not runs.empty else runs
    if runs.empty:
        raise SuiteError(f"no finished runs under {runs_dir}")
    tasks = sorted(runs["task"].dropna().unique())
    arms = sorted(runs["arm_label"].dropna().unique())
    blocks = [wr.H1("On-policy policy gradients: arm comparison"),
              wr.P(f"{len(runs)} runs, arms {', '.join(arms)}; runs are grouped by arm (the wandb run "
                   "group), one panel grid per task; x = env steps.")]
    if leaderboard:
        blocks.append(wr.MarkdownBlock(text=leaderboard))
    for task in tasks:
        blocks += [wr.H2(task), wr.PanelGrid(
            runsets=[wr.Runset(entity=entity, project=project, name=task, query=task, groupby=["arm_label"])],
            panels=[wr.LinePlot(title=f"{task}: {metric}", x="global_step", y=[metric],
                                groupby_aggfunc="mean", groupby_rangefunc="stderr") for metric in METRICS])]
    return wr.Report(project=project, entity=entity, title="pgsuite: arm comparison", blocks=blocks)


def report_spec(built) -> str:
    """The report as JSON, without the wandb API (the API's own model looks the project up)."""
    import wandb_workspaces.reports.v2 as wr
    from pydantic import TypeAdapter

    return TypeAdapter(wr.Report).dump_json(built, indent=2).decode()


def report(project: str, entity: str | None, runs_dir: str | Path, out: str | Path,
           leaderboard: str | Path | None = None) -> str:
    """Publish the report (online, with an entity) or save its spec under `out`. The text of
    `leaderboard` (a leaderboard README.md) is embedded only when it is given."""
    text = None
    if leaderboard is not None:
        if not Path(leaderboard).is_file():
            raise SuiteError(f"--leaderboard {str(leaderboard)!r} is not a file")
        text = Path(leaderboard).read_text()
    built = build_report(project, entity or "", runs_dir, text)
    if wandb_mode() == "online" and entity:
        built.save()
        return f"published: {built.url}"
    spec = Path(out) / "wandb_report.json"
    atomic_write_text(spec, report_spec(built) + "\n")
    return (f"offline: saved the report spec to {spec}; to publish, log in (wandb login), log the runs "
            f"online (python -m suite run ... --wandb, or wandb sync {runs_dir}/wandb/offline-run-*), then "
            f"run: python -m suite report --wandb-project {project} --entity YOUR_ENTITY")
