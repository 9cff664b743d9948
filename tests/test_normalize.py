import numpy as np
import pytest

from algorithms.normalize import ObsNormalizer, RewardScaler, RunningMeanStd, scale_rewards


def test_running_mean_std_matches_numpy_over_batches():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, size=(500, 4))
    rms = RunningMeanStd((4,), epsilon=0.0 + 1e-12)
    for chunk in np.split(data, [1, 2, 50, 51, 300]):
        rms.update(chunk)
    np.testing.assert_allclose(rms.mean, data.mean(0), rtol=1e-9)
    np.testing.assert_allclose(rms.var, data.var(0), rtol=1e-9)


def test_obs_normalizer_hand_example():
    norm = ObsNormalizer((2,), clip=1.5, enabled=True, eps=0.0)
    norm.rms.count = 1e-12
    norm.update(np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]]))
    # mean (2, 10), var (8/3, 0) -> x=(6, 10): ((6-2)/sqrt(8/3) = 2.449 -> clipped 1.5, 0/0 guarded)
    norm.eps = 1e-8
    out = norm(np.array([[6.0, 10.0], [2.0 + np.sqrt(8 / 3), 10.0]]))
    np.testing.assert_allclose(out, [[1.5, 0.0], [1.0, 0.0]], atol=1e-6)
    assert out.dtype == np.float32
    assert ObsNormalizer((2,), 1.5, enabled=False)(np.array([[6.0, 10.0]])).tolist() == [[6.0, 10.0]]


def test_reward_scaling_hand_example():
    """scale_rewards, the step the collector takes for every member at once ([M, E] = [1, 1])."""
    scaler = RewardScaler(num_envs=1, gamma=0.5, clip=1000.0, enabled=True, eps=0.0)
    state = [scaler.returns[None], np.array([scaler.rms.mean]), np.array([scaler.rms.var]), np.array([1e-12])]

    def step(reward: float, done: bool) -> float:
        scaled, *state[:] = scale_rewards(*state, np.array([[reward]]), np.array([[done]]), 0.5, 1000.0, 0.0)
        return float(scaled[0, 0])

    # step 1: running return 2; the std of one sample is ~0, so the scaled reward hits the clip
    assert step(2.0, False) == 1000.0
    # step 2: return 0.5 * 2 + 4 = 5; std of [2, 5] = 1.5 -> 4 / 1.5; the episode ends here
    assert step(4.0, True) == pytest.approx(4.0 / 1.5, rel=1e-9)
    assert state[0][0, 0] == 0.0
    # step 3: return restarts: 1; std of [2, 5, 1] = sqrt(26/9)
    assert step(1.0, False) == pytest.approx(1.0 / np.sqrt(26 / 9), rel=1e-9)
    # rewards are scaled, never shifted: a zero reward stays zero
    assert step(0.0, False) == 0.0


def test_single_sample_fast_path_is_bit_identical_to_the_batch_formula():
    rng = np.random.default_rng(1)
    fast, general = RunningMeanStd((5,)), RunningMeanStd((5,))
    for _ in range(300):
        x = rng.normal(rng.uniform(-100, 100), rng.uniform(0.01, 50), size=(1, 5))
        fast.update(x)
        # the general path on the same sample (duplicated rows change the count, so compute by hand)
        batch_mean, batch_var, n = x.mean(axis=0), x.var(axis=0), 1
        delta = batch_mean - general.mean
        total = general.count + n
        general.mean = general.mean + delta * n / total
        general.var = (general.var * general.count + batch_var * n + delta**2 * general.count * n / total) / total
        general.count = total
        assert np.array_equal(fast.mean, general.mean) and np.array_equal(fast.var, general.var)
