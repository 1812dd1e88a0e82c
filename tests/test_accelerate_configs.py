"""The accelerate configs of the multi-process training jobs (config/accelerate/, used by
mirage.training.launch): each parses with accelerate's own loader, and ``accelerate launch`` would turn it
into the engine settings we mean, with the process count from the command line. Nothing is
launched: the launcher's own argument handling and environment preparation are called, and the
engines' plugins are built from that environment, as each process builds them."""

import os
from unittest import mock

import pytest
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.utils import DistributedType
from conftest import REPO

CONFIGS = REPO / "config" / "accelerate"
EXPECTED = {
    "zero3": DistributedType.DEEPSPEED,
    "fsdp2": DistributedType.FSDP,
    "ddp": DistributedType.MULTI_GPU,
}


def launch_environment(name: str, processes: int = 4):
    """The launch arguments and the environment ``accelerate launch --config_file <name>.yaml
    --num_processes N --main_process_port 0 -m mirage.training.launch SPEC`` gives its processes
    (accelerate 1.15's launch_command, up to the point where it would start them)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    args = launch_command_parser().parse_args(
        ["--config_file", str(CONFIGS / f"{name}.yaml"), "--num_processes", str(processes),
         "--main_process_port", "0", "-m", "mirage.training.launch", "spec.json"])
    args, defaults, mixed_precision_from_config = _validate_launch_command(args)
    if args.use_deepspeed:
        fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mixed_precision_from_config else [])
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
        _, env = prepare_deepspeed_cmd_env(args)
    else:
        env = prepare_multi_gpu_env(args)
    return args, env


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_parses_with_accelerates_loader(name):
    path = CONFIGS / f"{name}.yaml"
    config = load_config_from_file(str(path))
    assert isinstance(config, ClusterConfig)
    assert config.distributed_type == EXPECTED[name]
    assert config.mixed_precision == "bf16"
    assert config.num_machines == 1 and not config.use_cpu
    # the launcher passes the process count; the file says that it does
    assert "--num_processes" in path.read_text()
    # the class method accelerate's own `accelerate config` tooling uses reads it alike
    assert ClusterConfig.from_yaml_file(str(path)).distributed_type == EXPECTED[name]


def test_every_engine_of_the_launcher_has_its_config():
    from mirage.training.launch import ENGINES

    assert sorted(ENGINES) == sorted(EXPECTED)
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_command_lines_process_count_overrides_the_files(name):
    args, env = launch_environment(name, processes=3)
    assert args.num_processes == 3
    assert args.mixed_precision == "bf16" and env["ACCELERATE_MIXED_PRECISION"] == "bf16"
    assert (args.use_deepspeed, args.use_fsdp, args.multi_gpu) == (
        name == "zero3", name == "fsdp2", name == "ddp")


def test_zero3_shards_everything_and_saves_a_16bit_model_with_auto_accumulation():
    from accelerate.utils import DeepSpeedPlugin

    config = load_config_from_file(str(CONFIGS / "zero3.yaml")).deepspeed_config
    assert config["zero_stage"] == 3
    assert config["zero3_init_flag"] is True and config["zero3_save_16bit_model"] is True
    assert config["offload_optimizer_device"] == "none" and config["offload_param_device"] == "none"
    # a number here that differs from GRPOConfig's is a mismatch error at start (transformers' fill_match)
    assert config.get("gradient_accumulation_steps", "auto") == "auto"
    assert config.get("gradient_clipping", "auto") == "auto"
    _, env = launch_environment("zero3")
    assert "ACCELERATE_GRADIENT_ACCUMULATION_STEPS" not in env
    with mock.patch.dict(os.environ, env):
        plugin = DeepSpeedPlugin()
    ds = plugin.hf_ds_config.config
    assert ds["gradient_accumulation_steps"] == "auto" and ds["gradient_clipping"] == "auto"
    assert ds["train_micro_batch_size_per_gpu"] == "auto"
    assert ds["zero_optimization"]["stage"] == 3
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    assert ds["zero_optimization"]["offload_param"]["device"] == "none"
    assert ds["zero_optimization"]["offload_optimizer"]["device"] == "none"
    assert plugin.zero3_init_flag is True


def test_fsdp2_full_shard_transformer_wrap_full_state_dict():
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.constants import FSDP_AUTO_WRAP_POLICY
    from torch.distributed.fsdp import StateDictType

    config = load_config_from_file(str(CONFIGS / "fsdp2.yaml")).fsdp_config
    assert config["fsdp_version"] == 2
    assert config["fsdp_auto_wrap_policy"] in FSDP_AUTO_WRAP_POLICY
    _, env = launch_environment("fsdp2")
    assert env["FSDP_VERSION"] == "2" and env["ACCELERATE_USE_FSDP"] == "true"
    with mock.patch.dict(os.environ, env):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2
    assert plugin.reshard_after_forward is True  # full shard
    assert plugin.auto_wrap_policy.__name__ == "transformer_auto_wrap_policy"
    # Trainer.save_model writes a safetensors model folder only from a full state dict
    assert plugin.state_dict_type == StateDictType.FULL_STATE_DICT
    assert type(plugin.cpu_offload).__name__ == "OffloadPolicy"  # the no-offload policy, not CPUOffloadPolicy
    assert plugin.cpu_ram_efficient_loading is True


def test_ddp_is_plain_data_parallel():
    config = load_config_from_file(str(CONFIGS / "ddp.yaml"))
    assert config.deepspeed_config == {} and config.fsdp_config == {}
    _, env = launch_environment("ddp")
    assert "ACCELERATE_USE_FSDP" not in env and "ACCELERATE_USE_DEEPSPEED" not in env
