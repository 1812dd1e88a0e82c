"""One short toy pretraining and GRPO run, for tests/test_kernels.py: run in a fresh
process whose environment stands for a machine (the CPU kernels it offers) with or
without the study's cpu_kernels settings. Prints the sha256 of the SFT weights and of
the GRPO weights, one per line.

    python tests/kernel_run.py OUT_DIR"""

import hashlib
import sys
from pathlib import Path

from safetensors.torch import load_file

from mirage.core.settings import GRPOSettings
from mirage.toy.data import generate_task_splits
from mirage.toy.pretrain import PretrainJob, pretrain_toy_model
from mirage.toy.tokenizer import build_tokenizer
from mirage.training.runs import ClaimJob, RunOutputs, Runtime, train_claim

TEMPLATE = "{question} -> <think> <answer>\n"
ARCH = {"type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 128, "max_position_embeddings": 96}
MODEL = {"name": "toy", "architecture": ARCH,
         "sft": {"steps": 12, "batch_size": 8, "learning_rate": 3e-3, "max_length": 48, "logging_steps": 4},
         "mixture": {"add": {"weight": 1.0, "practice": 0.2, "styles": {"procedure": 0.6, "flawed": 0.3, "direct": 0.1}}}}
GRPO = {"steps": 2, "prompts_per_generation": 4, "num_generations": 4, "steps_per_generation": 2,
        "learning_rate": 3e-2, "warmup_steps": 0, "weight_decay": 0.1, "max_grad_norm": 1.0, "epsilon": 0.2,
        "epsilon_high": 0.28, "beta": 0.0, "loss_type": "dapo", "temperature": 1.0, "top_p": 1.0,
        "max_completion_length": 24}


def digest(folder: Path) -> str:
    weights = load_file(str(folder / "model.safetensors"))
    h = hashlib.sha256()
    for name in sorted(weights):
        h.update(name.encode() + weights[name].contiguous().numpy().tobytes())
    return h.hexdigest()


def main(root: Path) -> None:
    build_tokenizer().save_pretrained(str(root / "tokenizer"))
    generate_task_splits("add", "add", {"digits": 2}, 16, 4, 3, TEMPLATE).write_parquet(root / "add.parquet")
    pretrain_toy_model(PretrainJob(tokenizer_dir=root / "tokenizer", problem_files=[root / "add.parquet"],
                                   out_dir=root / "base", model_cfg=MODEL,
                                   task_families={"add": {"family": "add", "params": {"digits": 2}}},
                                   prompt_template=TEMPLATE, seed=5))
    out = root / "rl"
    train_claim(ClaimJob(model_path=str(root / "base"), problems_path=str(root / "add.parquet"),
                         outputs=RunOutputs(str(out / "model"), str(out / "curves.parquet"), str(out / "history.parquet")),
                         grpo=GRPOSettings.from_dict(GRPO), verifier="integer", seed=11, claim="ground_truth"),
                Runtime(use_cpu=True))
    print(digest(root / "base"))
    print(digest(out / "model"))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
