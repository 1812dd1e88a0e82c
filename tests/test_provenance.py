"""Every table and figure carries its provenance; `python -m mirage provenance` prints it."""

import polars as pl
import pytest

from mirage.__main__ import main
from mirage.core import provenance
from mirage.core.schemas import PASSK


def _table(path):
    PASSK.write(PASSK.frame([{"model": "m", "task": "t", "benchmark": "t", "k": 1, "n": 1, "num_problems": 1,
                              "pass_at_k": 1.0}]), path)


@pytest.mark.integration
def test_a_table_records_the_config_hash_code_version_and_package_versions(tmp_path, capsys):
    with provenance.recording({"rule": "passk_table", "params": {"ks": [1]}}):
        _table(tmp_path / "a.parquet")
    info = provenance.read(tmp_path / "a.parquet")
    assert info["config_hash"] == provenance.config_hash({"rule": "passk_table", "params": {"ks": [1]}})
    assert len(info["git_commit"]) == 40 and info["git_dirty"] in ("true", "false")
    assert {"version.torch", "version.transformers", "version.trl", "version.vllm", "version.snakemake"} <= set(info)
    assert PASSK.read(tmp_path / "a.parquet").height == 1  # the data is untouched
    assert main(["provenance", str(tmp_path / "a.parquet")]) == 0
    assert f"config_hash: {info['config_hash']}" in capsys.readouterr().out


@pytest.mark.integration
def test_same_job_same_bytes_and_another_config_another_hash(tmp_path):
    with provenance.recording({"params": {"x": 1}}):
        _table(tmp_path / "a.parquet")
        _table(tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    with provenance.recording({"params": {"x": 2}}):
        _table(tmp_path / "c.parquet")
    assert provenance.read(tmp_path / "c.parquet")["config_hash"] != provenance.read(tmp_path / "a.parquet")["config_hash"]
    # outside a job's block nothing is recorded as its hash: no state is left behind
    _table(tmp_path / "d.parquet")
    assert provenance.read(tmp_path / "d.parquet")["config_hash"] == "none"


@pytest.mark.integration
def test_figures_record_provenance_in_png_and_svg(tmp_path):
    from mirage.analysis.plots import _figure_module, save_figure

    plt = _figure_module()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with provenance.recording({"params": {"figures": {"dpi": 50}}}):
        save_figure(fig, [str(tmp_path / "f.png"), str(tmp_path / "f.svg")], dpi=50)
    plt.close(fig)
    for name in ("f.png", "f.svg"):
        assert provenance.read(tmp_path / name)["config_hash"] == provenance.config_hash({"params": {"figures": {"dpi": 50}}})
    assert (tmp_path / "f.svg").read_text().startswith("<?xml")


def test_a_file_without_provenance_says_so(tmp_path, capsys):
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "plain.parquet")
    assert main(["provenance", str(tmp_path / "plain.parquet")]) == 1
    assert "no provenance recorded" in capsys.readouterr().err


@pytest.mark.unit
@pytest.mark.parametrize("recorded", ["default/claims.parquet", "default/claim_gains.png", "toy-full/claims.parquet"])
def test_the_recorded_tables_and_figures_keep_their_provenance(recorded):
    """The metadata key is a file format: every recorded table and figure (benchmarks/results/,
    written before mirage/ became packages) still yields its provenance (a key renamed with the
    module, mirage.core.provenance, read none of them)."""
    from conftest import REPO

    info = provenance.read(REPO / "benchmarks" / "results" / recorded)
    assert len(info.get("git_commit", "")) == 40 and info["config_hash"], info
