"""Training the grid: the plan (plan.py), one group of runs trained and resumed (runner.py),
where groups train (backends.py: in-process, local pool, Ray), the grid and its interrupts
(driver.py), the live display, wandb / TensorBoard (tracking.py), speed estimates and the
two floors (speed.py), `verify` and `check-arm`. Imports records/ below it, never results/."""
