"""Statistics of the report: gains with bootstrap CIs, gain-vs-distance correlations, diminishing returns.

    from studies.stats import correlate, mean_ci, fit_saturating, saturation_point
    correlate(distance, gain)   # {'n', 'pearson', 'pearson_ci', 'spearman', ..., 'p_permutation'}

numpy only. Every output is a Python float/tuple/dict (JSON-ready); what cannot be computed is None, never NaN.
Sources: percentile bootstrap (Efron & Tibshirani 1993, ch. 13; scipy.stats.bootstrap method="percentile");
permutation p with the +1 correction (Phipson & Smyth 2010); paired bootstrap for system comparison
(Koehn 2004; Berg-Kirkpatrick et al. 2012); power-law learning curves (Hestness et al. 2017).
"""
import numpy as np

from util import UserError

CHUNK = 1 << 20  # numbers drawn per block: n_boot × n never sits in memory at once (10k QA questions × 10k)
ALPHA = (1e-3, 10.0)  # fit_saturating's exponent range: from "a line in log n" to "flat after one doubling"


def _vector(x, name="x"):
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or len(a) == 0 or not np.isfinite(a).all():
        raise ValueError(f"{name} must be a non-empty flat list of finite numbers (got shape {a.shape} or NaN)")
    return a


def _paired(*arrays):
    out = [_vector(a, f"input {i + 1}") for i, a in enumerate(arrays)]
    if len({len(a) for a in out}) > 1:
        raise ValueError(f"paired inputs must have equal lengths, got {[len(a) for a in out]}")
    return out


def _ranks(a):
    """Average (1-based) ranks along the last axis: a tie group of positions i..j all get (i + j) / 2 + 1."""
    order = np.argsort(a, axis=-1, kind="stable")
    s = np.take_along_axis(a, order, axis=-1)
    pos = np.broadcast_to(np.arange(a.shape[-1]), a.shape)
    new = np.ones(a.shape, bool)
    new[..., 1:] = s[..., 1:] != s[..., :-1]  # first of its tie group
    last = np.ones(a.shape, bool)
    last[..., :-1] = new[..., 1:]  # last of its tie group
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=-1)
    end = np.flip(np.minimum.accumulate(np.flip(np.where(last, pos, a.shape[-1]), -1), axis=-1), -1)
    ranks = np.empty(a.shape)
    np.put_along_axis(ranks, order, (first + end) / 2 + 1, axis=-1)
    return ranks


def _pearson_rows(x, y):
    """Pearson r along the last axis; NaN where a side is constant (checked exactly: a float mean is not)."""
    xm, ym = x - x.mean(-1, keepdims=True), y - y.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xm * ym).sum(-1) / np.sqrt((xm * xm).sum(-1) * (ym * ym).sum(-1))
    constant = (x == x[..., :1]).all(-1) | (y == y[..., :1]).all(-1)
    return np.where(constant, np.nan, np.clip(r, -1.0, 1.0))


def _spearman_rows(x, y):
    return _pearson_rows(_ranks(x), _ranks(y))


def rankdata(x):
    """As scipy.stats.rankdata(x, method="average"), as a list."""
    return _ranks(_vector(x)).tolist()


def pearson(x, y):
    x, y = _paired(x, y)
    r = _pearson_rows(x, y) if len(x) >= 2 else np.nan
    return float(r) if np.isfinite(r) else None


def spearman(x, y):
    x, y = _paired(x, y)
    return pearson(_ranks(x), _ranks(y))  # ranks carry the ties: a plain Pearson of them is exact


def _apply(stat, rows, vectorized):
    """stat over each row of the (k, n) arrays `rows`: one call if vectorized, else one call per row."""
    if vectorized:
        return np.asarray(stat(*rows), dtype=float)
    vals = (stat(*(r[i] for r in rows)) for i in range(len(rows[0])))
    return np.array([np.nan if v is None else v for v in vals], dtype=float)


def _blocks(total, n):
    for start in range(0, total, max(1, CHUNK // n)):
        yield min(max(1, CHUNK // n), total - start)


def _bootstrap(stat, arrays, n_boot, seed, vectorized):
    """The bootstrap distribution: rows resampled jointly across arrays (paired); None/NaN resamples dropped."""
    arrays = _paired(*arrays)
    n = len(arrays[0])
    rng = np.random.default_rng(seed)
    dist = [_apply(stat, [a[idx] for a in arrays], vectorized)
            for idx in (rng.integers(0, n, (k, n)) for k in _blocks(n_boot, n))]
    dist = np.concatenate(dist) if dist else np.empty(0)
    return dist[np.isfinite(dist)]


def _percentile_ci(dist, level):
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if len(dist) == 0:
        return None, None
    lo, hi = np.quantile(dist, [(1 - level) / 2, (1 + level) / 2])  # linear interpolation, as scipy
    return float(lo), float(hi)


def bootstrap_ci(stat, arrays, n_boot=10000, level=0.95, seed=0, vectorized=False):
    """Percentile CI of stat(*arrays). vectorized=True: stat takes (k, n) arrays and returns k values."""
    if len(_paired(*arrays)[0]) < 2:
        return None, None
    return _percentile_ci(_bootstrap(stat, arrays, n_boot, seed, vectorized), level)


def permutation_p(x, y, stat, n_perm=10000, seed=0, vectorized=False):
    """Two-sided: p = (1 + #{|stat(x, perm y)| >= |stat(x, y)|}) / (1 + n_perm); None if stat(x, y) is."""
    x, y = _paired(x, y)
    obs = _apply(stat, [x[None], y[None]], vectorized)[0] if len(x) >= 2 else np.nan
    if not np.isfinite(obs):
        return None
    rng = np.random.default_rng(seed)
    hits = 0
    for k in _blocks(n_perm, len(x)):
        ys = rng.permuted(np.tile(y, (k, 1)), axis=1)
        null = _apply(stat, [np.broadcast_to(x, ys.shape), ys], vectorized)
        hits += int((np.abs(null) >= abs(obs) * (1 - 1e-12)).sum())  # float ties count as ties (scipy too)
    return (1 + hits) / (1 + n_perm)


def correlate(x, y, n_boot=10000, n_perm=10000, seed=0):
    """Pearson and Spearman with paired-bootstrap CIs and permutation p-values (e.g. gain vs distance)."""
    x, y = _paired(x, y)
    return {"n": len(x),
            "pearson": pearson(x, y),
            "pearson_ci": list(bootstrap_ci(_pearson_rows, (x, y), n_boot, seed=seed, vectorized=True)),
            "spearman": spearman(x, y),
            "spearman_ci": list(bootstrap_ci(_spearman_rows, (x, y), n_boot, seed=seed, vectorized=True)),
            "p_permutation": permutation_p(x, y, _pearson_rows, n_perm, seed, vectorized=True),
            "p_permutation_spearman": permutation_p(x, y, _spearman_rows, n_perm, seed, vectorized=True)}


def _scipy_stats():
    try:
        import scipy.stats
    except ImportError:
        raise UserError("the studies' intervals need scipy: `pip install scipy` (make study installs it).") from None
    return scipy.stats


def t_interval(values, level=0.95):
    """Mean of independent replicates (seeds, or languages) with its Student-t interval and the two-sided
    one-sample t-test of mean = 0: {mean, lo, hi, p, n, sd, why}. Exact for normal replicates at any n >= 2
    (tests/test_stats.py proves 95% coverage at 2, 3 and 5 by simulation). Below 2 values, or with no spread
    at all, lo/hi/p are None and `why` says so: never a zero-width interval."""
    v = _vector(values, "values")
    out = dict(mean=float(v.mean()), lo=None, hi=None, p=None, n=len(v), sd=None, why=None)
    if len(v) < 2:
        return dict(out, why=f"{len(v)} replicate: no interval")
    if (v == v[0]).all():  # checked exactly: the sd of identical floats comes out 1e-17, not 0 (see _pearson_rows)
        return dict(out, sd=0.0, why=f"{len(v)} identical values: no spread to estimate")
    sd = float(v.std(ddof=1))
    t = _scipy_stats().t
    se, df = sd / np.sqrt(len(v)), len(v) - 1
    half = float(t.ppf((1 + level) / 2, df)) * se
    return dict(out, lo=out["mean"] - half, hi=out["mean"] + half, sd=sd,
                p=float(2 * t.sf(abs(out["mean"]) / se, df)))


def welch(a, b, level=0.95):
    """Difference of means mean(a) - mean(b) of two independent samples (e.g. low- vs high-resource languages)
    with Welch's t interval and two-sided p: {diff, lo, hi, p, n_a, n_b, why}."""
    a, b = _vector(a, "a"), _vector(b, "b")
    out = dict(diff=float(a.mean() - b.mean()), lo=None, hi=None, p=None, n_a=len(a), n_b=len(b), why=None)
    if min(len(a), len(b)) < 2:
        return dict(out, why="fewer than 2 in a group: no test")
    if (a == a[0]).all() and (b == b[0]).all():  # exactly, as in t_interval
        return dict(out, why="no spread in either group: no test")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))  # Welch-Satterthwaite
    t, se = _scipy_stats().t, float(np.sqrt(va + vb))
    half = float(t.ppf((1 + level) / 2, df)) * se
    return dict(out, lo=out["diff"] - half, hi=out["diff"] + half, p=float(2 * t.sf(abs(out["diff"]) / se, df)))


def sd_interval(values, level=0.95):
    """Sample sd with the chi-square interval of a normal population's sd: (sd, lo, hi); lo/hi None below 2."""
    v = _vector(values, "values")
    if len(v) < 2:
        return None, None, None
    sd, df, chi2 = float(v.std(ddof=1)), len(v) - 1, _scipy_stats().chi2
    return (sd, sd * float(np.sqrt(df / chi2.ppf((1 + level) / 2, df))),
            sd * float(np.sqrt(df / chi2.ppf((1 - level) / 2, df))))


def holm(pvalues):
    """Holm's step-down adjustment (Holm 1979) of every p-value in one report; None stays None."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    out, running = list(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * pvalues[i]))
        out[i] = running
    return out


def ols(X, y, names, level=0.95):
    """y = b0 + X b by least squares, each column standardised (b = points per 1 sd of the feature), every
    coefficient net of the others: {n, df, r2, terms: [{name, coef, lo, hi, p, partial_r, vif}], why}.
    Needs n >= k + 3 (k features): two residual degrees of freedom at least."""
    X, y = np.asarray(X, float), _vector(y, "y")
    n, k = X.shape
    if n < k + 3:
        return dict(n=n, df=n - k - 1, r2=None, terms=[], why=f"{n} languages for {k} features: needs {k + 3}")
    if (X == X[0]).all(0).any():  # exactly, as in t_interval
        return dict(n=n, df=n - k - 1, r2=None, terms=[], why="a feature is constant over these languages")
    sd = X.std(0, ddof=1)
    Z = np.column_stack([np.ones(n), (X - X.mean(0)) / sd])
    coef, *_ = np.linalg.lstsq(Z, y, rcond=None)
    resid, df = y - Z @ coef, n - k - 1
    s2 = float(resid @ resid) / df
    try:
        cov = s2 * np.linalg.inv(Z.T @ Z)
    except np.linalg.LinAlgError:
        return dict(n=n, df=df, r2=None, terms=[], why="the features are exactly collinear")
    t = _scipy_stats().t
    q, se = float(t.ppf((1 + level) / 2, df)), np.sqrt(np.diag(cov))
    corr = np.corrcoef(X, rowvar=False).reshape(k, k)
    vif = np.diag(np.linalg.pinv(corr)) if k > 1 else np.ones(1)
    terms = []
    for j, name in enumerate(names, 1):
        tj = coef[j] / se[j] if se[j] > 0 else np.inf
        terms.append(dict(name=name, coef=float(coef[j]), lo=float(coef[j] - q * se[j]), hi=float(coef[j] + q * se[j]),
                          p=float(2 * t.sf(abs(tj), df)), partial_r=float(tj / np.sqrt(tj * tj + df)),
                          vif=float(vif[j - 1])))
    return dict(n=n, df=df, r2=_r2(y, Z @ coef), terms=terms, why=None)


def detectable(n, alpha=0.05, power=0.8):
    """The smallest true mean (in sd units of one replicate) that a two-sided one-sample t-test at level alpha
    finds with the given power from n replicates: the noncentral-t power, integrated over the chi-square of
    the sd estimate (exact, not a z approximation; scipy's nct is unstable at 1 degree of freedom)."""
    ss = _scipy_stats()
    from scipy.integrate import quad
    from scipy.optimize import brentq
    df, q = n - 1, float(ss.t.ppf(1 - alpha / 2, n - 1))

    def hit(d):
        nc = d * np.sqrt(n)
        f = lambda v: (ss.norm.cdf(nc - q * np.sqrt(v / df)) + ss.norm.cdf(-nc - q * np.sqrt(v / df))) \
            * ss.chi2.pdf(v, df)  # noqa: E731
        return quad(f, 0, np.inf, limit=200)[0] - power
    return float(brentq(hit, 1e-3, 1e3))


def two_level(a, b, example_sd, level=0.95):
    """mean(b) - mean(a) of two systems' per-seed scores on one test set, with an interval over both sources of
    chance: the seeds (Welch: var(a)/n_a + var(b)/n_b) and the test examples (example_sd: the sd of a paired
    bootstrap of the delta over examples), variances added, Welch-Satterthwaite degrees of freedom (the example
    part taken as known). With one seed on a side the seed part cannot be estimated: the examples alone, said
    in `method`. → {delta, lo, hi, df, method}."""
    a, b = _vector(a, "a"), _vector(b, "b")
    delta = float(b.mean() - a.mean())
    if example_sd == 0 and (a == a[0]).all() and (b == b[0]).all():  # e.g. two collapsed models: never [0, 0]
        return dict(delta=delta, lo=None, hi=None, df=None, method="no variation: identical seeds and examples")
    if min(len(a), len(b)) < 2:
        half = float(_scipy_stats().norm.ppf((1 + level) / 2)) * example_sd
        return dict(delta=delta, lo=delta - half, hi=delta + half, df=None, method="examples")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    v = va + vb + example_sd ** 2
    df = v ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if va + vb > 0 else np.inf
    half = float(_scipy_stats().t.ppf((1 + level) / 2, df)) * float(np.sqrt(v))
    return dict(delta=delta, lo=delta - half, hi=delta + half, df=float(df), method="seeds+examples")


def slope(x, y):
    """Least-squares slope of y on x (e.g. score on log2 n: the gain per doubling)."""
    x, y = _paired(x, y)
    xm = x - x.mean()
    return float((xm * (y - y.mean())).sum() / (xm * xm).sum())


def paired_bootstrap(a, b, n_boot=10000, level=0.95, seed=0):
    """System b vs baseline a on the same examples (per-example scores, e.g. 0/1 or F1).

    delta = mean(b) - mean(a) in the inputs' units, its percentile CI, and p = the share of resamples with
    delta* <= 0 (Koehn 2004). Berg-Kirkpatrick et al. (2012) count delta* > 2·delta instead: the same
    number when the bootstrap distribution is symmetric about delta. One-sided: "is b better than a?"
    """
    a, b = _paired(a, b)
    delta = float(b.mean() - a.mean())
    if len(a) < 2:
        return {"delta": delta, "ci_low": None, "ci_high": None, "p": None}
    dist = _bootstrap(lambda r: r.mean(-1), (b - a,), n_boot, seed, vectorized=True)
    lo, hi = _percentile_ci(dist, level)
    return {"delta": delta, "ci_low": lo, "ci_high": hi, "p": float((dist <= 0).mean())}


def _sizes(n, y, distinct):
    n, y = _paired(n, y)
    if (n <= 0).any() or len(np.unique(n)) < distinct:
        raise ValueError(f"training-set sizes must be positive with at least {distinct} distinct values: {n}")
    return n, y


def _r2(y, pred):
    ss_tot = ((y - y.mean()) ** 2).sum()
    return None if ss_tot == 0 else float(1 - ((y - pred) ** 2).sum() / ss_tot)


def fit_log2(n, y):
    """y = a + b·log2(n) by least squares; b is the gain per doubling of the training set."""
    n, y = _sizes(n, y, 2)
    b, a = np.polyfit(np.log2(n), y, 1)
    return {"a": float(a), "b": float(b), "r2": _r2(y, a + b * np.log2(n))}


def _saturating_lsq(u, y, alphas):
    """Closed-form least-squares c, d of y = c - d·u^(-alpha) and its squared error, one alpha per row."""
    f = u[None, :] ** -alphas[:, None]  # (A, m)
    fm = f - f.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        d = -(fm * (y - y.mean())).sum(1) / (fm * fm).sum(1)
        c = y.mean() + d * f.mean(1)
        sse = ((y - c[:, None] + d[:, None] * f) ** 2).sum(1)
    return c, d, np.where(np.isfinite(sse), sse, np.inf)


def fit_saturating(n, y):
    """y = c - d·n^(-alpha), c the asymptote. For each alpha, c and d are linear least squares; alpha is
    found on a log-spaced grid zoomed in 10 times (each ×40 finer). alpha at ALPHA's lower edge means the
    data show no saturation (a line in log n): then trust fit_log2, not c."""
    n, y = _sizes(n, y, 3)
    u = n / n.min()  # u^(-alpha) in (0, 1]: no underflow, and d stays on the scale of y
    lo, hi = np.log(ALPHA)
    for _ in range(10):
        t = np.linspace(lo, hi, 81)
        i = int(np.argmin(_saturating_lsq(u, y, np.exp(t))[2]))
        lo, hi = t[max(i - 1, 0)], t[min(i + 1, 80)]
    alpha = float(np.exp(t[i]))
    c, d, _ = _saturating_lsq(u, y, np.array([alpha]))
    c, d = float(c[0]), float(d[0] * n.min() ** alpha)  # back from u = n / n_min to n
    return {"c": c, "d": d, "alpha": alpha, "r2": _r2(y, c - d * n ** -alpha)}


def gain_per_doubling(fit, n):
    """y(2n) - y(n) for a fit_log2 or fit_saturating result."""
    return float(fit["d"] * n ** -fit["alpha"] * (1 - 2 ** -fit["alpha"]) if "alpha" in fit else fit["b"])


def saturation_point(fit, threshold):
    """The n beyond which a doubling gains less than `threshold` points: d·n^(-alpha)·(1 - 2^(-alpha)) = t.
    A log2 fit gains b at every n: None (never) if b > threshold, else 0.0 (already from the start);
    a saturating fit with d <= 0 never gains, so 0.0 too."""
    if threshold <= 0:
        raise ValueError(f"threshold must be a positive number of points, got {threshold}")
    if "alpha" not in fit:
        return None if fit["b"] > threshold else 0.0
    if fit["d"] <= 0:
        return 0.0
    try:  # alpha at the search's lower edge (no saturation seen): the point is beyond any float
        return float((fit["d"] * (1 - 2 ** -fit["alpha"]) / threshold) ** (1 / fit["alpha"]))
    except OverflowError:
        return None


def robustness(scores, baseline=None):
    """scores = {lang: [score per seed]}, seed i the same run setting in every language."""
    langs = list(scores)
    rows = [_vector(scores[lang], f"scores[{lang!r}]") for lang in langs]
    if not rows or len({len(r) for r in rows}) != 1:
        raise ValueError("robustness needs {lang: [score per seed]} with the same number of seeds everywhere")
    table = np.array(rows)  # (L, S)
    per_lang, per_seed = table.mean(1), table.mean(0)  # (L,) mean over seeds, (S,) mean over languages
    worst = int(np.argmin(per_lang))
    out = {"mean": float(per_lang.mean()),
           "seed_std": float(per_seed.std(ddof=1)) if len(per_seed) > 1 else None,
           "worst_lang": langs[worst], "worst": float(per_lang[worst]),
           "lang_std": float(per_lang.std(ddof=1)) if len(langs) > 1 else None,
           "lang_range": float(per_lang.max() - per_lang.min())}
    if baseline is not None:
        missing = [lang for lang in langs if lang not in baseline]
        if missing:
            raise ValueError(f"baseline has no scores for {missing}")
        base = np.array([_vector(baseline[lang], f"baseline[{lang!r}]").mean() for lang in langs])
        out["share_improved"] = float((per_lang > base).mean())
    return out


if __name__ == "__main__":  # python -m studies.stats: the detectable effects quoted in studies/README.md
    print("seeds | detectable at p < 0.05, 80% power (× seed sd of the paired gain) | after Holm over 10 tests")
    for n in (2, 3, 5, 10):
        print(f"{n} | {detectable(n):.2f} | {detectable(n, 0.005):.2f}")
