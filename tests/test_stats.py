"""studies/stats.py against scipy (rank and correlation to 1e-12, bootstrap and permutation within Monte-Carlo
tolerance at fixed seeds), against exact enumeration and coverage, and on hand-computed examples.

    .venv/bin/python -m pytest tests/test_stats.py -q
"""
import itertools
import json

import numpy as np
import pytest

from studies import stats as st


def _data(kind, n=40, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "tied":  # few distinct values: most ranks are averages
        x = rng.integers(0, 4, n).astype(float)
        return x, x + rng.integers(0, 3, n)
    x = rng.normal(size=n)
    return x, 0.4 * x + rng.normal(size=n)


def test_rankdata_averages_ties():
    assert st.rankdata([3, 1, 3, 2, 3]) == [4.0, 1.0, 4.0, 2.0, 4.0]
    assert st.rankdata([2.5, 2.5, 0.0, 7.0, 7.0, 7.0, 7.0]) == [2.5, 2.5, 1.0, 5.5, 5.5, 5.5, 5.5]
    ss = pytest.importorskip("scipy.stats")
    for seed in range(5):
        x = np.random.default_rng(seed).integers(0, 5, 30).astype(float)
        assert st.rankdata(x) == ss.rankdata(x, method="average").tolist()


@pytest.mark.parametrize("kind", ["normal", "tied"])
def test_pearson_spearman_equal_scipy(kind):
    ss = pytest.importorskip("scipy.stats")
    for seed in range(10):
        x, y = _data(kind, n=12 + seed * 7, seed=seed)
        assert st.pearson(x, y) == pytest.approx(ss.pearsonr(x, y).statistic, abs=1e-12)
        assert st.spearman(x, y) == pytest.approx(ss.spearmanr(x, y).statistic, abs=1e-12)


def test_undefined_is_none_and_bad_input_is_an_error():
    assert st.pearson([1, 2, 3], [5, 5, 5]) is None and st.spearman([1, 2, 3], [5, 5, 5]) is None
    assert st.pearson([0.1] * 3, [1, 2, 3]) is None  # its float mean is off by 1e-17: r would come out 0.0
    assert st.pearson([1], [2]) is None
    out = st.correlate([1, 2, 3, 4], [2, 2, 2, 2], n_boot=200, n_perm=200)
    assert out["pearson"] is None and out["pearson_ci"] == [None, None] and out["p_permutation"] is None
    json.dumps(out, allow_nan=False)  # None, never NaN
    with pytest.raises(ValueError, match="equal lengths"):
        st.pearson([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        st.spearman([1, np.nan, 3], [1, 2, 3])


def test_bootstrap_ci_matches_scipy_percentile():
    ss = pytest.importorskip("scipy.stats")
    x, y = _data("normal")
    got = st.correlate(x, y, n_boot=10000, n_perm=100, seed=0)
    for name, rows in (("pearson", st._pearson_rows), ("spearman", st._spearman_rows)):
        ref = ss.bootstrap((x, y), lambda a, b, axis=-1: rows(a, b), paired=True, vectorized=True,
                           method="percentile", n_resamples=10000, random_state=1).confidence_interval
        assert got[f"{name}_ci"] == pytest.approx([ref.low, ref.high], abs=0.02)
        assert got[f"{name}_ci"][0] < got[name] < got[f"{name}_ci"][1]
    ref = ss.bootstrap((x,), np.mean, method="percentile", n_resamples=10000, random_state=1).confidence_interval
    mean, lo, hi = st.mean_ci(x, seed=0)
    assert mean == pytest.approx(x.mean()) and [lo, hi] == pytest.approx([ref.low, ref.high], abs=0.02)
    # a 90% interval is narrower than a 95% one, and a different seed moves the bounds only by MC noise
    assert lo < st.mean_ci(x, level=0.9)[1] < st.mean_ci(x, level=0.9)[2] < hi
    assert st.mean_ci(x, seed=7)[1:] == pytest.approx((lo, hi), abs=0.02)


def test_bootstrap_loop_and_vectorised_paths_draw_the_same_resamples():
    x, y = _data("tied", n=25)
    assert st.bootstrap_ci(st.spearman, (x, y), n_boot=2000, seed=3) == \
        tuple(st.correlate(x, y, n_boot=2000, n_perm=10, seed=3)["spearman_ci"])


def test_bootstrap_ci_coverage():
    """Known mean 1.0: the 95% interval holds it in ~95% of data sets, the 50% interval in ~50%."""
    rng = np.random.default_rng(1)
    samples = rng.exponential(1.0, size=(300, 40))  # skewed, as gains over few seeds can be
    for level, (low, high) in ((0.95, (0.88, 0.99)), (0.5, (0.40, 0.60))):
        cis = [st.mean_ci(s, n_boot=1000, level=level, seed=i)[1:] for i, s in enumerate(samples)]
        coverage = np.mean([lo <= 1.0 <= hi for lo, hi in cis])
        assert low <= coverage <= high, (level, coverage)


def test_mean_ci_edge_cases():
    assert st.mean_ci([3.5]) == (3.5, None, None)
    assert st.mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    assert st.bootstrap_ci(np.mean, ([1.0],)) == (None, None)


def test_permutation_p_matches_scipy_and_exact_enumeration():
    ss = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    x = rng.normal(size=20)
    y = 0.35 * x + rng.normal(size=20)  # p near 0.1: where Monte-Carlo error is largest
    ours = st.correlate(x, y, n_boot=10, n_perm=10000, seed=0)
    for key, rows in (("p_permutation", st._pearson_rows), ("p_permutation_spearman", st._spearman_rows)):
        same = ss.permutation_test((y,), lambda yy, axis=-1: np.abs(rows(x, yy)), permutation_type="pairings",
                                   vectorized=True, n_resamples=10000, alternative="greater", random_state=1)
        doubled = ss.permutation_test((y,), lambda yy, axis=-1: rows(x, yy), permutation_type="pairings",
                                      vectorized=True, n_resamples=10000, random_state=1)
        assert 0.01 < ours[key] < 0.5
        assert ours[key] == pytest.approx(same.pvalue, abs=0.015)  # the same definition
        assert ours[key] == pytest.approx(doubled.pvalue, abs=0.03)  # 2·min tail: equal for a symmetric null
    # n = 6: all 720 pairings enumerated give the exact p that the Monte-Carlo one estimates
    x, y = np.array([1.0, 2, 3, 4, 5, 6]), np.array([2.0, 1, 4, 3, 6, 5])
    r = st.pearson(x, y)
    exact = np.mean([abs(st.pearson(x, y[list(p)])) >= r - 1e-12 for p in itertools.permutations(range(6))])
    assert st.permutation_p(x, y, st.pearson, n_perm=20000) == pytest.approx(exact, abs=0.01)
    assert st.permutation_p(x, y, st.pearson, n_perm=2000) == \
        st.permutation_p(x, y, st._pearson_rows, n_perm=2000, vectorized=True)
    # a perfect association: only the identity pairing (never drawn among 10! at this seed) is as extreme
    assert st.permutation_p(np.arange(10.0), np.arange(10.0) ** 3, st.spearman, n_perm=999) == 1 / 1000


def test_paired_bootstrap():
    a = np.tile([1.0, 0.0], 50)  # baseline: 50 of 100 right
    b = a.copy()
    b[1:40:2] = 1.0  # the system also gets 20 of the baseline's errors right, breaks nothing
    better = st.paired_bootstrap(a, b, seed=0)
    assert better["delta"] == pytest.approx(0.2) and 0.1 < better["ci_low"] < better["ci_high"] < 0.3
    assert better["p"] < 0.001
    worse = st.paired_bootstrap(b, a, seed=0)
    assert worse["delta"] == pytest.approx(-0.2) and worse["ci_high"] < 0 and worse["p"] > 0.999
    same = st.paired_bootstrap(a, a)
    assert same == {"delta": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p": 1.0}
    f1 = st.paired_bootstrap([0.5, 0.8, 0.3, 0.9], [0.6, 0.8, 0.2, 1.0], n_boot=500)  # per-question F1 units
    assert f1["delta"] == pytest.approx(0.025) and f1["ci_low"] <= 0.025 <= f1["ci_high"]


N = np.array([500.0 * 2 ** k for k in range(10)])  # 500 .. 256k training examples


def test_fit_log2_recovers_parameters():
    fit = st.fit_log2(N, 3.0 + 2.0 * np.log2(N))
    assert fit == pytest.approx({"a": 3.0, "b": 2.0, "r2": 1.0}, abs=1e-9)
    assert st.gain_per_doubling(fit, 1000) == pytest.approx(2.0)
    noisy = st.fit_log2(N, 3.0 + 2.0 * np.log2(N) + np.random.default_rng(0).normal(0, 0.2, len(N)))
    assert noisy["b"] == pytest.approx(2.0, abs=0.1) and noisy["r2"] > 0.99
    with pytest.raises(ValueError, match="distinct"):
        st.fit_log2([100, 100, 100], [1, 2, 3])


@pytest.mark.parametrize("c,d,alpha", [(85.0, 559.0, 0.5), (70.0, 40.0, 0.3), (60.0, 2e4, 1.2), (50.0, -30.0, 0.4)])
def test_fit_saturating_recovers_parameters(c, d, alpha):
    fit = st.fit_saturating(N, c - d * N ** -alpha)
    assert fit["c"] == pytest.approx(c, abs=1e-6) and fit["alpha"] == pytest.approx(alpha, abs=1e-6)
    assert fit["d"] == pytest.approx(d, rel=1e-6) and fit["r2"] == pytest.approx(1.0, abs=1e-9)


def test_fit_saturating_noisy_and_unsaturated():
    for seed in range(5):
        y = 85.0 - 559.0 * N ** -0.5 + np.random.default_rng(seed).normal(0, 0.2, len(N))
        fit = st.fit_saturating(N, y)
        assert fit["c"] == pytest.approx(85.0, abs=1.0) and fit["alpha"] == pytest.approx(0.5, abs=0.06)
        true_gain = 559.0 * 4000 ** -0.5 * (1 - 2 ** -0.5)
        assert st.gain_per_doubling(fit, 4000) == pytest.approx(true_gain, abs=0.25)
    line = st.fit_saturating(N, 3.0 + 2.0 * np.log2(N))  # no saturation: alpha runs to the edge, no NaN
    assert line["alpha"] == pytest.approx(1e-3, rel=1e-3) and line["r2"] > 0.9999
    json.dumps(line, allow_nan=False)
    with pytest.raises(ValueError, match="3 distinct"):
        st.fit_saturating([100, 200, 200], [1, 2, 3])


def test_saturation_point_matches_brute_force_on_the_fitted_curve():
    y = 85.0 - 559.0 * N ** -0.5 + np.random.default_rng(0).normal(0, 0.2, len(N))
    fit = st.fit_saturating(N, y)
    curve = lambda n: fit["c"] - fit["d"] * n ** -fit["alpha"]  # noqa: E731
    grid = np.geomspace(10, 1e9, 200001)
    for threshold in (0.2, 0.5, 1.0, 3.0):
        brute = grid[np.argmax(curve(2 * grid) - curve(grid) < threshold)]  # first n whose doubling gains less
        assert st.saturation_point(fit, threshold) == pytest.approx(brute, rel=1e-3)
        assert st.gain_per_doubling(fit, brute) == pytest.approx(threshold, rel=1e-3)
    assert st.saturation_point({"a": 1.0, "b": 2.0, "r2": 1.0}, 1.0) is None
    assert st.saturation_point({"a": 1.0, "b": 0.5, "r2": 1.0}, 1.0) == 0.0
    assert st.saturation_point({"c": 1.0, "d": -3.0, "alpha": 0.5, "r2": 1.0}, 1.0) == 0.0


def test_robustness_hand_computed():
    scores = {"de": [80.0, 82.0, 84.0], "sw": [60.0, 62.0, 58.0], "hi": [70.0, 70.0, 73.0]}
    baseline = {"de": [81.0], "sw": [59.0, 59.0], "hi": [72.0, 71.0]}
    out = st.robustness(scores, baseline=baseline)
    # per language: de 82 (> 81), sw 60 (> 59), hi 71 (< 71.5); per seed (mean over languages): 70, 214/3, 215/3
    per_seed = np.array([70.0, 214 / 3, 215 / 3])
    assert out == pytest.approx({"mean": 71.0, "seed_std": float(np.std(per_seed, ddof=1)), "worst_lang": "sw",
                                 "worst": 60.0, "lang_std": 11.0, "lang_range": 22.0, "share_improved": 2 / 3})
    one_seed = st.robustness({"de": [80.0], "sw": [60.0]})
    assert one_seed["seed_std"] is None and one_seed["lang_std"] == pytest.approx(np.sqrt(200))
    with pytest.raises(ValueError, match="same"):
        st.robustness({"de": [1.0, 2.0], "sw": [1.0]})
    with pytest.raises(ValueError, match="sw"):
        st.robustness(scores, baseline={"de": [1.0], "hi": [1.0]})
