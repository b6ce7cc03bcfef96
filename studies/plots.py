"""The studies' figures, drawn from the numbers studies/report.py puts in report.json (never recomputed here):
gains against each language's own baseline, interval bars with their method in the legend, axes with metric
and unit, the sizes as ticks, one quantity per axis. Each takes matplotlib's pyplot first (imported only
when plotting) and returns the figure; tests/test_synthetic_truth.py reads the plotted data back.
"""
import numpy as np


def _count(n):
    return f"{n:,.0f}"


def _ticks(ax, n):
    ax.set_xscale("log", base=2)
    ax.set_xticks(n, [_count(x) for x in n], rotation=30)
    ax.minorticks_off()


def volume(plt, t, series, n, langs, groups, g, rows):
    """Gain over each language's own baseline: a language with no gain lies on zero."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    color = {"low": "tab:red", "high": "tab:blue", "all": "black", None: "grey"}
    for lang, row in zip(langs, g):
        ax.plot(n, row, lw=0.7, alpha=0.35, color=color[groups[lang]])
    for r in rows:
        mean, at = r["mean_gain"], r["at_size"]
        err = [[m - (a["lo"] if a["lo"] is not None else m) for m, a in zip(mean, at)],
               [(a["hi"] if a["hi"] is not None else m) - m for m, a in zip(mean, at)]]
        ax.plot(n, mean, lw=3, color=color[r["group"]], marker="o", gid=f"mean:{r['group']}",
                label=f"{r['group']} ({len(r['langs'])} langs; bars: 95% t over seeds)")
        ax.errorbar(n, mean, yerr=err, fmt="none", capsize=3, color=color[r["group"]])
    ax.axhline(0, ls="--", color="black", lw=1, label="baseline (no intermediate task)")
    _ticks(ax, n)
    ax.set(xlabel="intermediate training examples n", ylabel=f"gain over baseline ({t}, points)",
           title=f"{t}: {series}")
    ax.legend(fontsize=8)
    return fig


def typology(plt, t, c, m):
    """Each feature's coefficient (net of the others) with its 95% interval: a forest plot."""
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(m["terms"]) + 1.5))
    y = np.arange(len(m["terms"]))[::-1]
    coef = [x["coef"] for x in m["terms"]]
    err = [[x["coef"] - x["lo"] for x in m["terms"]], [x["hi"] - x["coef"] for x in m["terms"]]]
    ax.plot(coef, y, "o", color="tab:blue", gid="coef")
    ax.errorbar(coef, y, xerr=err, fmt="none", capsize=3, color="tab:blue", label="95% t interval")
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, [x["name"] for x in m["terms"]])
    ax.set(xlabel="gain per 1 sd of the feature (points), net of the others", title=f"{t}: {c} ({m['n']} languages)")
    return fig


def ntasks(plt, t, rows):
    fig, ax = plt.subplots(figsize=(6, 4))
    rows = [r for r in rows if r["gain"] is not None]
    k = [r["k"] for r in rows]
    lo = [r["gain"] - r["ci_low"] if r["ci_low"] is not None else 0 for r in rows]
    hi = [r["ci_high"] - r["gain"] if r["ci_high"] is not None else 0 for r in rows]
    ax.plot(k, [r["gain"] for r in rows], "o", color="tab:blue", gid="diff", label="best k-set − best single")
    ax.errorbar(k, [r["gain"] for r in rows], yerr=[lo, hi], fmt="none", capsize=3, color="tab:blue")
    ax.axhline(0, color="grey", ls="--", label="best single task")
    ax.set(xlabel="number of intermediate tasks k", ylabel=f"best k-set − best single ({t}, points)", title=t)
    if k:
        ax.set_xticks(k)
    ax.legend(fontsize=8)
    return fig


def robustness(plt, t, metric, rows):
    """Three panels, one quantity each; the baseline as a dashed line in every panel."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    base = next((r for r in rows if r["series"] == "baseline"), None)
    for s in dict.fromkeys(r["series"] for r in rows if r["series"] != "baseline"):
        rs = [r for r in rows if r["series"] == s]
        n = [r["n"] for r in rs]
        sd = [r["seed_sd"] or 0 for r in rs]
        err = [[a - (r["seed_sd_ci"][0] or a) for a, r in zip(sd, rs)],  # below, above; none without an interval
               [(r["seed_sd_ci"][1] or a) - a for a, r in zip(sd, rs)]]
        line, = axes[0].plot(n, sd, marker="o", label=f"{s} (bars: 95% chi-square)", gid="seed_sd")
        axes[0].errorbar(n, sd, yerr=err, fmt="none", capsize=3, color=line.get_color())
        axes[1].plot(n, [r["worst"] for r in rs], marker="o", label=s, gid="worst")
        axes[2].plot(n, [r["spread"] for r in rs], marker="o", label=s, gid="spread")
        for ax in axes:
            _ticks(ax, n)
    labels = ("seed sd of the language average", "worst language's score", "best − worst language")
    for ax, key, label in zip(axes, ("seed_sd", "worst", "spread"), labels):
        if base and base[key] is not None:
            ax.axhline(base[key], ls="--", color="black", lw=1, label="baseline", gid=f"baseline:{key}")
        ax.set(xlabel="intermediate training examples n", ylabel=f"{label} ({metric}, points)", title=f"{t}: {label}")
        ax.legend(fontsize=8)
    return fig


def heatmap(plt, t, metric, rows, cols, heat):
    """Gain of language-L intermediate data over English data, rows and columns in the same order: the
    diagonal is a diagonal. Gain over the baseline beside it."""
    fig, axes = plt.subplots(1, 2, figsize=(max(10, 1.2 * len(cols) + 4), 0.5 * len(rows) + 2.5))
    for ax, key, title in zip(axes, ("vs_english", "gain"), ("over English intermediate data", "over no intermediate")):
        m = np.full((len(rows), len(cols)), np.nan)
        for h in heat:
            if h[key] is not None and h["row"] in rows and h["lang"] in cols:
                m[rows.index(h["row"]), cols.index(h["lang"])] = h[key]
        lim = float(np.nanmax(np.abs(m))) if np.isfinite(m).any() else 1.0
        im = ax.imshow(m, cmap="RdBu", vmin=-(lim or 1), vmax=lim or 1, aspect="auto", gid=f"heat:{key}")
        for (i, j), v in np.ndenumerate(m):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(v) > 0.6 * (lim or 1) else "black")
        ax.set_xticks(range(len(cols)), cols), ax.set_yticks(range(len(rows)), rows)
        ax.set(xlabel="target language", ylabel="intermediate data language", title=f"{t}: gain {title}")
        fig.colorbar(im, ax=ax, label=f"gain ({metric}, points)")
    return fig


def paper(plt, rows, published):
    """The xstilts study against the paper: per target, our dev-selected system and our baseline (95% t over
    seeds) beside the published rows (points, no interval: none is published)."""
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(rows)), 4.5))
    x = np.arange(len(rows))
    for offset, key, label, color in ((-0.15, "test", "ours: best on dev", "tab:blue"),
                                      (0.0, "baseline", "ours: none", "grey")):
        est = [r[key]["estimate"] if r[key] else np.nan for r in rows]
        err = [[e - r[key]["ci_low"] if r[key] and r[key]["ci_low"] is not None else 0 for e, r in zip(est, rows)],
               [r[key]["ci_high"] - e if r[key] and r[key]["ci_high"] is not None else 0 for e, r in zip(est, rows)]]
        drawn = ax.errorbar(x + offset, est, yerr=err, fmt="o", capsize=3, color=color,
                            label=f"{label} (bars: 95% t over seeds)")
        drawn[0].set_gid(key)  # the points themselves, not the caps
    for i, p in enumerate(published):
        values = [p["scores"].get(r["target"], {}).get(r["metric"], np.nan) for r in rows]
        ax.plot(x + 0.15 + 0.08 * i, values, ls="none", marker="D^sv"[i % 4], gid=f"published:{i}",
                label=f"published: {p['system']}")
    ax.set_xticks(x, [f"{r['target']}\n({r['metric']})" for r in rows])
    ax.set(ylabel="test score, average over the target's languages (points)", title="xstilts: against the paper")
    ax.legend(fontsize=7)
    return fig


def groups(plt, t, metric, by, rows, gain, diffs):
    """Gain over the baseline per group of languages, side by side: each language's mean gain as a dot, the group's
    mean (per-seed group means, bars: 95% t over seeds, none below 3 languages) as a diamond; zero = no gain. The
    title states the first two group differences (Welch over languages, Holm-adjusted p)."""
    names = list(dict.fromkeys(r["group"] for r in rows))
    cells = list(dict.fromkeys(r["cell"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(names) + 2), 4.5))
    for j, c in enumerate(cells):
        mine = [r for r in rows if r["cell"] == c]
        x = [names.index(r["group"]) + 0.6 * (j + 0.5) / len(cells) - 0.3 for r in mine]
        for xi, r in zip(x, mine):
            ax.plot([xi - 0.08] * len(r["langs"]), [gain[c][lang] for lang in r["langs"]], "o", ms=3, alpha=0.4,
                    color=f"C{j}", gid=f"langs:{c}:{r['group']}")
        mean = [r["estimate"] for r in mine]
        err = [[m - (r["ci_low"] if r["ci_low"] is not None else m) for m, r in zip(mean, mine)],
               [(r["ci_high"] if r["ci_high"] is not None else m) - m for m, r in zip(mean, mine)]]
        ax.plot(x, mean, "D", color=f"C{j}", gid=f"mean:{c}", label=f"{c}: group mean (bars: 95% t over seeds)")
        ax.errorbar(x, mean, yerr=err, fmt="none", capsize=3, color=f"C{j}")
    ax.axhline(0, ls="--", color="black", lw=1, label="baseline (no intermediate task)")
    n = {r["group"]: r["n_langs"] for r in rows}
    ax.set_xticks(range(len(names)), [f"{g}\n({n[g]} langs)" for g in names])
    ax.set(xlabel=f"language group (by {by})", ylabel=f"gain over baseline ({t} {metric}, points)",
           title="\n".join([f"{t}: gain by {by}", *(f"{w['what']}: {w['diff']:+.2f}" + (
               f" [{w['lo']:+.2f}, {w['hi']:+.2f}], Welch over languages, p_adj {w['p_adj']:.3f}" if w["p"] is not
               None else f" ({w['why']})") for w in diffs[:2])]))
    return fig


def encoders(plt, t, metric, models, rows):
    """Per encoder, the gain of each intermediate task over that encoder's own baseline with its interval: one
    colour per task, side by side; bars only where the report prints an interval."""
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(models) + 2), 4.5))
    width = 0.8 / len(tasks)
    for j, task in enumerate(tasks):
        mine = [r for r in rows if r["task"] == task and r["model"] in models]
        x = [models.index(r["model"]) + (j - (len(tasks) - 1) / 2) * width for r in mine]
        y = [r["estimate"] for r in mine]
        err = [[r["estimate"] - (r["ci_low"] if r["ci_low"] is not None else r["estimate"]) for r in mine],
               [(r["ci_high"] if r["ci_high"] is not None else r["estimate"]) - r["estimate"] for r in mine]]
        ax.bar(x, y, width, label=f"{task} (bars: 95% t over seeds)", gid=f"gain:{task}", color=f"C{j}")
        ax.errorbar(x, y, yerr=err, fmt="none", capsize=3, color="black")
    ax.axhline(0, color="grey", lw=1)
    ax.set_xticks(range(len(models)), [m.rsplit("/", 1)[-1] for m in models], rotation=20)
    ax.set(xlabel="encoder", ylabel=f"gain over the encoder's own baseline ({t} {metric}, points)",
           title=f"{t}: zero-shot gain of intermediate training per encoder")
    ax.legend(fontsize=8)
    return fig
