import pytest

from algorithms.vpg import adaptive_lr


def test_adaptive_step_size_rule():
    target, lo, hi = 0.01, 1e-6, 1e-2
    assert adaptive_lr(1e-3, 0.02, target, lo, hi) == pytest.approx(5e-4)   # KL > 1.5 d_targ: halve
    assert adaptive_lr(1e-3, 0.015, target, lo, hi) == pytest.approx(1e-3)  # within the band: keep
    assert adaptive_lr(1e-3, 0.007, target, lo, hi) == pytest.approx(1e-3)
    assert adaptive_lr(1e-3, 0.006, target, lo, hi) == pytest.approx(2e-3)  # KL < d_targ / 1.5: double
    assert adaptive_lr(8e-3, 0.0, target, lo, hi) == pytest.approx(1e-2)    # capped at lr_max
    assert adaptive_lr(1.5e-6, 1.0, target, lo, hi) == pytest.approx(1e-6)  # floored at lr_min
    lr = 1e-3
    for kl in (0.001, 0.001, 0.05, 0.01):
        lr = adaptive_lr(lr, kl, target, lo, hi)
    assert lr == pytest.approx(2e-3)
