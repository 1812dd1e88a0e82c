"""Figures of the study (matplotlib, written as PNG and SVG)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mirage.schemas import PASSK


def _figure_module():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Fixed metadata so that a rebuilt figure is byte-identical.
    plt.rcParams["svg.hashsalt"] = "mirage"
    return plt


def save_figure(fig, out_paths: list[str]) -> None:
    for path in out_paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        meta = {"Software": None} if str(path).endswith(".png") else {"Date": None}
        fig.savefig(path, dpi=120, bbox_inches="tight", metadata=meta)


def plot_passk_curves(passk_path: str, model: str, out_paths: list[str]) -> None:
    """pass@k against k (log scale) for every task the model was sampled on."""
    plt = _figure_module()
    df = PASSK.read(passk_path).filter(pl.col("model") == model)
    if df.is_empty():
        raise ValueError(f"{passk_path}: no pass@k rows for model {model!r}")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for (task,), grp in df.sort("task", "k").group_by("task", maintain_order=True):
        ax.plot(grp["k"], grp["pass_at_k"], marker="o", label=task)
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k")
    ax.set_ylabel("pass@k")
    ax.set_title(f"{model}: alignment by pass@k ({df['num_problems'][0]} problems, n={df['n'][0]})")
    ax.grid(alpha=0.3)
    ax.legend(title="task", loc="center left", bbox_to_anchor=(1.02, 0.5))
    save_figure(fig, out_paths)
    plt.close(fig)
