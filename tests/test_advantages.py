import numpy as np
import pytest

from algorithms.advantages import discounted_returns, gae, next_values


def test_gae_hand_computed_with_termination_and_truncation():
    # Five steps: episode A runs t=0,1 and terminates at t=1; episode B runs t=2 and is
    # truncated by the time limit there; episode C runs t=3,4 and is cut by the batch end.
    gamma, lam = 0.9, 0.5
    r = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    v = np.array([0.5, 1.0, 1.5, 2.0, 2.5])
    # V(s_{t+1}): t=1 is terminal (value ignored), t=2 bootstraps from V(final obs) = 10,
    # t=4 from V(obs after the batch) = 3.
    nv = np.array([1.0, 99.0, 10.0, 2.5, 3.0])
    term = np.array([0, 1, 0, 0, 0], dtype=bool)
    trunc = np.array([0, 0, 1, 0, 0], dtype=bool)

    d0 = 1.0 + 0.9 * 1.0 - 0.5   # 1.4
    d1 = 2.0 - 1.0               # 1.0 (terminated: no bootstrap)
    d2 = 3.0 + 0.9 * 10.0 - 1.5  # 10.5 (truncated: bootstrap from V(final obs))
    d3 = 4.0 + 0.9 * 2.5 - 2.0   # 4.25
    d4 = 5.0 + 0.9 * 3.0 - 2.5   # 5.2
    a4 = d4
    a3 = d3 + 0.45 * a4
    a2 = d2                      # the recursion stops at the truncation
    a1 = d1                      # and at the termination
    a0 = d0 + 0.45 * a1
    expected = np.array([a0, a1, a2, a3, a4])

    adv, ret = gae(r, v, nv, term, trunc, gamma, lam)
    np.testing.assert_allclose(adv, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ret, expected + v, rtol=0, atol=1e-12)
    assert adv[2] == pytest.approx(10.5)


def test_gae_env_axis_is_independent():
    rng = np.random.default_rng(0)
    T, N = 7, 3
    r, v, nv = rng.normal(size=(T, N)), rng.normal(size=(T, N)), rng.normal(size=(T, N))
    term = rng.random((T, N)) < 0.2
    trunc = (rng.random((T, N)) < 0.2) & ~term
    adv, _ = gae(r, v, nv, term, trunc, 0.99, 0.95)
    for i in range(N):
        col, _ = gae(r[:, i], v[:, i], nv[:, i], term[:, i], trunc[:, i], 0.99, 0.95)
        np.testing.assert_allclose(adv[:, i], col)


def test_discounted_returns_restart_at_episode_ends():
    r = np.array([1.0, 1.0, 1.0, 1.0])
    term = np.array([0, 1, 0, 0], dtype=bool)
    trunc = np.zeros(4, dtype=bool)
    np.testing.assert_allclose(discounted_returns(r, term, trunc, 0.5), [1.5, 1.0, 1.5, 1.0])


def test_next_values_by_hand():
    """V(s_{t+1}): the next row, V(last observation) at the end, V(final observation) where an
    episode was truncated inside the batch."""
    values = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
    out = next_values(values, np.array([7.0, 8.0]), [(0, 1, 9.0)])
    assert out.dtype == np.float64 and out.tolist() == [[3.0, 9.0], [5.0, 6.0], [7.0, 8.0]]
