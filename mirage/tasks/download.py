"""``python -m mirage download``: fill the Hugging Face cache with every model
and data set a study reads from the hub, at the revisions its config pins, on a
machine with network (a login node); the jobs then read them offline.

A pretrained model whose ``path`` is a hub id is fetched with
``huggingface_hub.snapshot_download`` (its weights in safetensors, config and
tokenizer files: what ``from_pretrained`` reads); a hub data set is loaded with
``datasets.load_dataset`` exactly as the data job loads it (same name, subset,
split and revision), which fills both the hub cache and the data set cache.
Entries with ``data_files`` are local copies: listed, never fetched."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mirage.tasks.hub_sources import SOURCES

# files from_pretrained never reads: original checkpoints of other frameworks
MODEL_IGNORE = ["original/*", "*.pth", "*.gguf", "*.msgpack", "*.h5", "*.onnx", "*.onnx_data", "*.ot"]


@dataclass(frozen=True)
class Fetch:
    kind: str                   # "model", "dataset" or "local" (data_files: not fetched)
    name: str                   # hub id, or the local files
    revision: str | None = None
    subset: str | None = None   # a data set's config (subset) name
    split: str | None = None    # a data set's split, as the hub names it
    used_by: str = ""           # the config keys that name it

    def describe(self) -> str:
        if self.kind == "local":
            return f"local    {self.name} (not fetched; {self.used_by})"
        where = f"{self.name}@{self.revision or 'main'}"
        if self.kind == "dataset":
            where += (f" subset {self.subset!r}" if self.subset else "") + f" split {self.split!r}"
        return f"{self.kind:<8} {where} ({self.used_by})"


def is_hub_id(path: str) -> bool:
    """A model path that names a hub repository rather than a local folder (as
    the config check reads it: not a path, and no such folder here)."""
    return not path.startswith(("/", "./", "../", "~")) and not Path(path).exists()


def hub_fetches(config: dict) -> list[Fetch]:
    """Everything the study reads from the hub (and its local data files), in
    config order, each once."""
    found: dict[tuple, Fetch] = {}

    def add(item: Fetch) -> None:
        key = (item.kind, item.name, item.revision, item.subset, item.split)
        if key in found:
            found[key] = replace(item, used_by=f"{found[key].used_by}, {item.used_by}")
        else:
            found[key] = item

    for name, model in config["models"].items():
        if model["source"] == "pretrained" and is_hub_id(model["path"]):
            add(Fetch("model", model["path"], model.get("revision") or "main", used_by=f"models.{name}"))
    for task, cfg in config["tasks"].items():
        if cfg["source"] != "hub":
            continue
        entries = [("train", f"tasks.{task}.train", cfg["train"])]
        entries += [("eval", f"tasks.{task}.eval[{i}]", e) for i, e in enumerate(cfg["eval"])]
        for split, where, entry in entries:
            if entry.get("data_files"):
                add(Fetch("local", entry["data_files"], used_by=where))
                continue
            source = SOURCES[entry["dataset"]]
            add(Fetch("dataset", source.hub_name, entry.get("revision") or "main", source.config,
                      source.splits[split], used_by=where))
    return list(found.values())


def fetch(item: Fetch) -> str:
    """Fetch one item into the cache; returns where it is."""
    if item.kind == "model":
        from huggingface_hub import snapshot_download

        return snapshot_download(item.name, revision=item.revision, ignore_patterns=MODEL_IGNORE)
    if item.kind == "dataset":
        import datasets

        datasets.load_dataset(item.name, item.subset, split=item.split, revision=item.revision)
        return "the data set cache"
    return "local"


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text[:300]}"


def download(config: dict, dry_run: bool, out=print) -> int:
    """Print (``dry_run``) or fetch every item; the first failure is one line
    naming the item, and ends the command (exit 1)."""
    import sys

    items = hub_fetches(config)
    if not items:
        out("nothing to fetch: the config reads no model or data set from the hub")
        return 0
    for item in items:
        if dry_run or item.kind == "local":
            out(item.describe())
            continue
        try:
            where = fetch(item)
        except Exception as error:  # no network, offline mode, unknown revision, gated repository...
            print(f"mirage download: could not fetch {item.kind} {item.name}@{item.revision}: {one_line(error)}",
                  file=sys.stderr)
            return 1
        out(f"{item.describe()} -> {where}")
    return 0

