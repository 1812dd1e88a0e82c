"""The unbiased pass@k estimator of Chen et al. (2021), vectorised."""

from __future__ import annotations

import numpy as np
import polars as pl

from mirage.schemas import PASSK


def pass_at_k(n, c, k) -> np.ndarray:
    """1 - C(n-c, k) / C(n, k), element-wise over broadcastable arrays.

    Computed as 1 - prod_{i=n-c+1}^{n} (1 - k/i) through prefix sums of
    log(1 - k/i), so no binomial coefficient is ever formed; 1.0 where n - c < k.
    """
    n, c, k = np.broadcast_arrays(*(np.asarray(x, dtype=np.int64) for x in (n, c, k)))
    if np.any(n < 1) or np.any(c < 0) or np.any(c > n):
        raise ValueError("pass_at_k needs n >= 1 and 0 <= c <= n")
    if np.any(k < 1) or np.any(k > n):
        raise ValueError("pass_at_k needs 1 <= k <= n")
    out = np.ones(n.shape, dtype=np.float64)
    fail = n - c
    active = fail >= k
    if not active.any():
        return out
    result = np.empty(int(active.sum()))
    n_a, f_a, k_a = n[active], fail[active], k[active]
    for kk in np.unique(k_a):
        sel = k_a == kk
        i = np.arange(1, int(n_a[sel].max()) + 1, dtype=np.float64)
        terms = np.where(i > kk, np.log1p(-kk / np.maximum(i, kk + 1)), 0.0)
        prefix = np.concatenate([[0.0], np.cumsum(terms)])  # prefix[m] = sum_{i<=m}
        result[sel] = 1.0 - np.exp(prefix[n_a[sel]] - prefix[f_a[sel]])
    out[active] = result
    return out


def default_ks(n: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    ks = [1 << p for p in range(n.bit_length()) if 1 << p <= n]
    return ks + ([n] if ks[-1] != n else [])


def passk_table(samples: pl.DataFrame, ks: list[int] | None = None) -> pl.DataFrame:
    """pass@k per (model, task, benchmark) from one row per sample with a boolean ``correct``."""
    per_problem = samples.group_by("model", "task", "benchmark", "problem_id").agg(
        pl.len().alias("n"), pl.col("correct").sum().alias("c")
    )
    rows = []
    for (model, task, benchmark), grp in per_problem.group_by("model", "task", "benchmark", maintain_order=True):
        n = grp["n"].to_numpy()
        c = grp["c"].to_numpy()
        n_min = int(n.min())
        for k in ks or default_ks(n_min):
            if k > n_min:
                raise ValueError(f"k={k} exceeds the {n_min} samples drawn per problem for {model}/{task}/{benchmark}")
            rows.append(
                {
                    "model": model,
                    "task": task,
                    "benchmark": benchmark,
                    "k": k,
                    "n": n_min,
                    "num_problems": len(grp),
                    "pass_at_k": float(pass_at_k(n, c, k).mean()),
                }
            )
    return PASSK.frame(rows).sort("model", "task", "benchmark", "k")
