"""``report.md`` of a run, regenerated from what is on disk (config, metrics, snapshots)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neurosim.files import write_text
from neurosim.markdown import num, table
from neurosim.runner.rundir import RunDir, RunError


def _fmt(v: Any) -> str:
    return num(v, ".4g") if isinstance(v, float) else str(v)


def config_lines(config: Mapping[str, Any]) -> list[str]:
    """A compact Markdown list of the resolved config."""
    lines = [f"- **seed** {config['seed']}, **device** {config['device']}, "
             f"**threads** {config['threads']}{', quick size' if config.get('quick') else ''}"]
    for section in ("network", "task", "rule", "schedule", "train"):
        items = ", ".join(f"{k} = {_fmt(v)}" for k, v in config[section].items() if v not in (None, {}, []))
        lines.append(f"- **{section}**: {items}")
    return lines


def metrics_table(rows: list[Mapping[str, Any]], keys: list[str] | None = None, max_rows: int = 12) -> str:
    """Markdown table of per-epoch metrics (thinned to ``max_rows`` rows, last one kept)."""
    if not rows:
        return "_no metrics_\n"
    keys = keys or [k for k in rows[-1] if not isinstance(rows[-1][k], dict)]
    if len(rows) > max_rows:
        step = math.ceil(len(rows) / (max_rows - 1))
        rows = list(rows[::step]) + ([rows[-1]] if (len(rows) - 1) % step else [])
    return table(keys, [[_fmt(r.get(k, "")) for k in keys] for r in rows])


def learning_curve(rows: list[Mapping[str, Any]], path: Path, title: str) -> list[Path]:
    """Training loss and validation/test accuracy against epoch (PNG and SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2), constrained_layout=True)
    tl = [(r["epoch"], r["train_loss"]) for r in rows if "train_loss" in r]
    if tl:
        ax1.plot(*zip(*tl, strict=True), label="train")
    if any("val_loss" in r for r in rows):
        ax1.plot(epochs, [r.get("val_loss", math.nan) for r in rows], label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy loss (nats)")
    ax1.legend(frameon=False)
    for key, label in (("val_accuracy", "validation"), ("test_accuracy", "test")):
        if any(key in r for r in rows):
            ax2.plot(epochs, [100 * r.get(key, math.nan) for r in rows], label=label)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy (%)")
    ax2.legend(frameon=False)
    fig.suptitle(title, fontsize=9)
    from neurosim.analysis.plots import save_figure

    paths = save_figure(fig, path, tight=False)
    plt.close(fig)
    return paths


def write_run_report(rundir: RunDir, *, analyse: bool = True) -> dict[str, Any]:
    """(Re)write ``report.md`` (and the analysis figures) from the files of ``rundir``.

    Returns the analysis summary (also stored in ``result.json``).
    """
    from neurosim import snapshot as snap

    config = rundir.config()
    rows = rundir.metrics()
    result = rundir.result()
    title = config.get("description") or _summary_line(config)
    lines = [f"# Run `{rundir.path.name}`", "", title, ""]
    final = result.get("final", {})
    if not final:
        last = ("nothing" if not rows else f"epoch {rows[-1]['epoch']}" if "epoch" in rows[-1]
                else f"{rows[-1].get('time_s', '?')} s")
        lines += [f"**Unfinished run**: no final result yet (last recorded: {last}); "
                  "this report shows it as it stands.", ""]
    elif final.get("diverged"):
        lines += [f"**Training diverged** in epoch {final.get('epochs', '?')} "
                  f"({final.get('diverged_reason', 'non-finite values')}); training stopped there.", ""]
    lines += ["## Config", "", *config_lines(config), ""]
    if final:
        lines += ["## Result", "", table(["metric", "value"], [[k, _fmt(v)] for k, v in final.items()
                                                                 if not isinstance(v, dict)])]
        psy = final.get("psychometric")
        if psy:
            lines += ["Psychometric curve (fraction choosing option 1 per signed coherence, %): "
                      + ", ".join(f"{c}: {100 * p:.0f}" for c, p in psy.items()), ""]
    figures = config["analysis"].get("figures", True)
    if rows and "train_loss" in rows[-1]:
        lines += ["## Learning curve", "", metrics_table(rows, [k for k in ("epoch", "train_loss",
                  "val_loss", "val_accuracy", "test_accuracy") if k in rows[-1]])]
        if figures:
            rundir.figures.mkdir(exist_ok=True)
            paths = learning_curve(rows, rundir.figures / "learning_curve", title)
            lines += [f"![learning curve]({paths[0].relative_to(rundir.path)})"]
        lines.append("")
    elif rows:
        lines += ["## Metrics", "", metrics_table(rows), ""]
    summary: dict[str, Any] = result.get("analysis", {})
    paths = rundir.snapshot_paths()
    if analyse and config["analysis"]["fit"] and paths:
        from neurosim.analysis.summary import analyse_run

        snapshots = [snap.load(p) for p in paths]
        traces = run_traces(rundir)
        analysis = analyse_run(snapshots, rundir.figures, projections=config["analysis"]["projections"],
                               pool=config["analysis"].get("pool", False), traces=traces,
                               families=config["analysis"]["families"],
                               references=tuple(config["analysis"]["references"]),
                               label=_summary_line(config), figures=figures)
        lines += ["## Synapse sizes", "", analysis.markdown, ""]
        summary = analysis.summary
        result["analysis"] = summary
        rundir.write_result(result)
    lines += ["## Files", "", f"- snapshots: {len(paths)} in `snapshots/`", "- metrics: `metrics.jsonl`",
              "- provenance: `provenance.json`", ""]
    write_text(rundir.path / "report.md", "\n".join(lines))
    return summary


def run_traces(rundir: RunDir) -> Any:
    """The run's size traces (``None`` without them; :class:`RunError` if damaged)."""
    from neurosim import traces

    if not rundir.traces.exists():
        return None
    try:
        return traces.load(rundir.traces)
    except ValueError as exc:
        raise RunError(f"{exc}; delete it to report without size traces") from None


def _summary_line(config: Mapping[str, Any]) -> str:
    net, rule = config["network"], config["rule"]
    if net["kind"].startswith("brian"):
        return f"{net['kind']} with {rule['name']}"
    dale = "Dale" if net.get("dale", True) else "ANN"
    lr = rule.get("lr")
    grid = f", {rule['levels']} levels, {rule['rounding']}" if rule["name"] == "loggrid_madam" else ""
    return f"{dale} {net['kind']} on {config['task']['name']}: {rule['name']} (lr {lr:g}{grid})"
