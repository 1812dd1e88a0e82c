"""The GPU path's engines on the CPU: the rehearsal stage of the paper-scale runs.

On GPUs a training job runs TRL's vLLM colocate mode, DeepSpeed ZeRO-3 or FSDP2 as configured
(``rl.grpo.use_vllm``, ``rl.distributed``). The same code runs on the CPU, with 1 or 2 processes over
gloo, in the CPU mirror of the GPU lock (``make test-gpu-cpu``), so that everything but the CUDA
kernels executes before a GPU is lent. Three things differ on the CPU, and each is adjusted here,
narrowly, and only where the job has no GPU (the GPU path is left as it is):

1. **vLLM's CPU weight packing** (``keep_vllm_cpu_weights``). After loading, vLLM's CPU build hands
   each linear layer's weight to a packed / oneDNN GEMM handle and leaves an empty Parameter
   (``dispatch_cpu_unquantized_gemm``, ``remove_weight=True``; the LM head keeps its Parameter but
   computes with the packed copy). TRL's weight sync writes into the Parameters
   (``model.load_weights``), so it fails (``'Parameter' object has no attribute 'weight_loader'``),
   and where it does not fail it would write weights no one reads: generation would stay on the
   first policy. On the CPU we make every 2-D linear layer keep its weight and compute with
   ``torch.nn.functional.linear``, what vLLM itself does for the layers it does not pack.
2. **The engine's environment** (``engine_environment``). ``accelerate launch`` cannot start
   several CPU processes, so the launcher uses ``torchrun`` on the CPU; the environment that
   ``accelerate launch --config_file config/accelerate/<engine>.yaml`` would give each process
   (ACCELERATE_USE_DEEPSPEED, FSDP_*, ...) is computed by accelerate's own launch code from the same
   file and handed to the torchrun processes, with two CPU settings: float32 (no bf16 autocast, as
   every CPU run) and DeepSpeed's CPU accelerator (``DS_ACCELERATOR=cpu``, gloo).
3. **FSDP on the CPU** (``enable_fsdp_on_cpu``). accelerate 1.15 switches to FSDP only for
   GPU-like devices: on the CPU an FSDP plugin is silently ignored and the run is plain DDP
   (MULTI_CPU). When the environment asks for FSDP and the state ignored it, the state is switched
   to FSDP with the plugin the environment describes; ``accelerator.prepare`` then shards the model
   with ``fully_shard`` over gloo.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

ENGINES_WITH_ENVIRONMENT = ("zero3", "fsdp2")


# -- 1. vLLM ------------------------------------------------------------------------------------

def keep_vllm_cpu_weights() -> bool:
    """On vLLM's CPU platform, make linear layers keep their weights (see the module's docstring);
    True when the adjustment is in place. Nothing is changed on any other platform."""
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return False
    import torch
    from vllm.model_executor.layers import utils

    original = utils.dispatch_cpu_unquantized_gemm
    if getattr(original, "mirage_keeps_weights", False):
        return True

    @functools.wraps(original)
    def dispatch(layer: torch.nn.Module, remove_weight: bool) -> None:
        if layer.weight.is_meta or layer.weight.ndim != 2:
            return original(layer, remove_weight)
        layer.cpu_linear = torch.nn.functional.linear

    dispatch.mirage_keeps_weights = True
    utils.dispatch_cpu_unquantized_gemm = dispatch
    log.info("vLLM on the CPU: linear layers keep their weights (no packed GEMM), so that weight syncs reach them")
    return True


def vllm_engine_model(llm):
    """The model object of a colocated ``vllm.LLM`` (what TRL's weight sync loads into)."""
    return llm.llm_engine.model_executor.driver_worker.model_runner.model


# -- 2. the engine's environment ----------------------------------------------------------------

def engine_environment(engine: str, processes: int, accelerate_dir: Path) -> dict[str, str]:
    """The environment ``accelerate launch --config_file <accelerate_dir>/<engine>.yaml`` gives a
    training process, computed by accelerate's own launch code, for CPU processes started by
    torchrun: float32 (``ACCELERATE_MIXED_PRECISION=no``) and, for DeepSpeed, its CPU accelerator.
    Empty for ``ddp`` (torchrun over gloo is DDP already)."""
    if engine not in ENGINES_WITH_ENVIRONMENT:
        return {}
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    config = accelerate_dir / f"{engine}.yaml"
    args = launch_command_parser().parse_args(["--config_file", str(config), "--num_processes", str(processes),
                                               "--main_process_port", "0", "-m", "mirage.training.launch", "job.json"])
    args, defaults, precision_from_config = _validate_launch_command(args)
    before = dict(os.environ)
    if args.use_deepspeed:
        # as accelerate's launch_command does before its DeepSpeed launcher
        fields = list(defaults.deepspeed_config) if defaults else []
        args.deepspeed_fields_from_accelerate_config = ",".join(fields + ["mixed_precision"] * precision_from_config)
        _, env = prepare_deepspeed_cmd_env(args)
    else:
        env = prepare_multi_gpu_env(args)
    keys = [k for k in env if k.startswith(("ACCELERATE_", "FSDP_")) and before.get(k) != env[k]]
    out = {k: env[k] for k in keys}
    out["ACCELERATE_MIXED_PRECISION"] = "no"
    if args.use_deepspeed:
        out["DS_ACCELERATOR"] = "cpu"
    return out


# -- 3. FSDP on the CPU -------------------------------------------------------------------------

def enable_fsdp_on_cpu(trainer) -> bool:
    """After ``Trainer.create_accelerator_and_postprocess``: when the environment asks for FSDP
    (ACCELERATE_USE_FSDP) and accelerate ignored it because the processes run on the CPU, switch
    the state to FSDP with the environment's plugin. True when switched."""
    from accelerate.state import PartialState
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    state = trainer.accelerator.state
    asked = os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"
    if not asked or state.distributed_type != DistributedType.MULTI_CPU or getattr(state, "fsdp_plugin", None):
        return False
    plugin = FullyShardedDataParallelPlugin()  # from the FSDP_* environment
    state.distributed_type = DistributedType.FSDP
    state.fsdp_plugin = plugin
    # as accelerate keeps them equal itself: every later AcceleratorState() copies PartialState's
    # distributed type over its own
    PartialState._shared_state["distributed_type"] = DistributedType.FSDP
    trainer.is_fsdp_enabled = True
    log.info("FSDP on the CPU: accelerate's state switched from MULTI_CPU to FSDP (version %s)", plugin.fsdp_version)
    return True
