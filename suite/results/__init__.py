"""What the records say: DataFrame readers (readers.py), scores and normalization, every
interval through one bootstrap (stats.py), the comparison tables, rankings with their
uncertainty, plots, the leaderboard, compare, export and the wandb report. Reads records
through records/ and plans through grid/."""
