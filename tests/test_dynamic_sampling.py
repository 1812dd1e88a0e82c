"""Dynamic sampling (DAPO filter groups, as the released verl code runs it) on
real TRL training of a tiny random model. Rewards are scripted by prompt id, so
which groups are informative is known in advance:

* an *informative* prompt's completions get 0, 1, 0, 1, ... (its group has a
  spread), every other prompt's completions get 1.0 (the group agrees);
* every reward call is recorded: which prompts each generation batch held.
"""

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import Killed, StopAfterSaving

from mirage.core.checkpoints import CheckpointDir, load_extra_state, resume_callback
from mirage.toy.pretrain import save_random_model
from mirage.training.dynamic_sampling import (
    FILLED_SHARE,
    FILTERED_SHARE,
    GENERATION_BATCHES,
    DynamicSamplingMixin,
    assemble_groups,
    informative_groups,
)
from mirage.training.trainer import claim_trainer_class

ARCH = {"type": "llama", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 64}
N_PROMPTS, PROMPTS, GENS, SPG = 16, 4, 4, 2  # 4 groups of 4 completions per generation batch, 2 steps each
KEYS = (FILTERED_SHARE, GENERATION_BATCHES, FILLED_SHARE)


class Scripted:
    """0, 1, 0, 1, ... for the informative prompts (groups start at multiples of
    GENS, which is even), 1.0 for the others."""

    __name__ = "scripted"

    def __init__(self, informative=()):
        self.informative = set(informative)
        self.calls: list[list[int]] = []  # the prompt id of every scored completion, per call

    def expected(self, pids):
        return [float(j % 2) if p in self.informative else 1.0 for j, p in enumerate(pids)]

    def __call__(self, prompts, completions, pid, **kwargs):
        self.calls.append(list(pid))
        return self.expected(pid)


class Bernoulli:
    """Stateful: reward 1 with probability p, from its own generator (like the
    random reward); at p = 0.15 about half of the groups of 4 are all zero."""

    __name__ = "bernoulli"

    def __init__(self, seed=3, p=0.15):
        self.p = p
        self.rng = np.random.default_rng(seed)
        self.calls: list[list[int]] = []

    def __call__(self, prompts, completions, pid, **kwargs):
        self.calls.append(list(pid))
        return (self.rng.random(len(completions)) < self.p).astype(float).tolist()

    def state_dict(self):
        return {"bit_generator": self.rng.bit_generator.state, "calls": self.calls}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["bit_generator"]
        self.calls = [list(c) for c in state["calls"]]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return save_random_model(tmp_path_factory.mktemp("ds") / "base", ARCH, seed=1)


def dataset():
    from datasets import Dataset

    # prompts of different lengths: groups of different generation batches are re-padded to one width
    return Dataset.from_list([{"prompt": f"q{i:02d}" + "=" * (1 + i % 3), "pid": i} for i in range(N_PROMPTS)])


def recording(cls):
    """Keeps, per rollout batch, the reward calls it made and the batch TRL
    trains on (before TRL shuffles it)."""

    class Recording(cls):
        rounds: list

        def _generate_and_score_completions(self, inputs):
            if not self.model.training:
                return super()._generate_and_score_completions(inputs)
            reward = self.reward_funcs[0]
            before = len(reward.calls)
            out = super()._generate_and_score_completions(inputs)
            text = self.processing_class.batch_decode(out["prompt_ids"], skip_special_tokens=True)
            self.rounds.append({"calls": reward.calls[before:], "pids": [int(t[1:3]) for t in text],
                                "advantages": out["advantages"].tolist(), "output": out,
                                "batch_rewards": getattr(self, "_batch_rewards", None)})
            return out

    Recording.rounds = []
    return Recording


def ds_class():
    """mirage's trainer, which carries the mixin (off unless asked)."""
    cls = claim_trainer_class()
    assert issubclass(cls, DynamicSamplingMixin)
    return cls


def make_trainer(cls, base, reward, out, steps=8, checkpoints=None, callbacks=(), **kwargs):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    torch.set_num_threads(1)
    world = int(os.environ.get("WORLD_SIZE", "1"))  # several under torchrun (test_two_processes)
    checkpoints = checkpoints or CheckpointDir(out / "ckpt", 0)
    args = GRPOConfig(**checkpoints.trainer_args(), max_steps=steps,
                      per_device_train_batch_size=PROMPTS * GENS // SPG // world,
                      ddp_backend="gloo" if world > 1 else None,
                      steps_per_generation=SPG, gradient_accumulation_steps=1, num_generations=GENS,
                      learning_rate=3e-2, lr_scheduler_type="constant", beta=0.0, loss_type="dapo", epsilon=0.2,
                      epsilon_high=0.28, max_completion_length=4, temperature=1.0, use_cpu=True, bf16=False,
                      report_to="none", logging_steps=1, seed=7, data_seed=7, disable_dropout=True)
    return cls(model=AutoModelForCausalLM.from_pretrained(base), reward_funcs=[reward], args=args,
               train_dataset=dataset(), processing_class=AutoTokenizer.from_pretrained(base),
               callbacks=list(callbacks), **kwargs)


def groups_of(pids):
    assert all(len(set(pids[i:i + GENS])) == 1 for i in range(0, len(pids), GENS))
    return [pids[i] for i in range(0, len(pids), GENS)]


def data_order(trainer, epochs=4):
    """The trainer's own generation batches (prompt ids per group), epoch after
    epoch, read from its dataloader as the training loop reads it."""
    loader = trainer.get_train_dataloader()
    order = []
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        batches = list(loader)
        order += [groups_of([row["pid"] for row in b]) for b in batches[::SPG]]
    return order


def expected_round(calls, informative, budget):
    """The released trainer's rule, written out: the group ids of the batch and
    the round's metrics."""
    drawn = [groups_of(c) for c in calls]
    kept = [p for groups in drawn for p in groups if p in informative]
    assert len(drawn) == budget or (len(kept) >= PROMPTS and len(drawn) <= budget)
    # it stopped as soon as the batch was full
    assert sum(p in informative for groups in drawn[:-1] for p in groups) < PROMPTS
    if len(kept) >= PROMPTS:
        batch, filled = kept[:PROMPTS], 0
    elif kept:
        batch, filled = [kept[i % len(kept)] for i in range(PROMPTS)], PROMPTS - len(kept)
    else:
        batch, filled = drawn[-1], PROMPTS
    generated = PROMPTS * len(drawn)
    return batch, {FILTERED_SHARE: (generated - len(kept)) / generated, GENERATION_BATCHES: float(len(drawn)),
                   FILLED_SHARE: filled / PROMPTS}


def check_layout(out, pad):
    """Prompts left-padded, completions right-padded, per-token fields aligned
    with the completions, the loss normaliser counting the batch's tokens."""
    prompt_mask, completion_mask = out["prompt_mask"], out["completion_mask"]
    assert prompt_mask.equal((out["prompt_ids"] != pad).long())
    assert (prompt_mask.diff(dim=1) >= 0).all() and (completion_mask.diff(dim=1) <= 0).all()
    assert (out["completion_ids"][completion_mask == 0] == pad).all()
    assert out["old_per_token_logps"].shape == completion_mask.shape  # steps_per_generation 2: off-policy
    assert (out["old_per_token_logps"][completion_mask == 1] < 0).all()
    assert out["num_items_in_batch"].item() == completion_mask.sum().item()


def check_run(trainer, reward, budget, steps):
    rounds = trainer.rounds
    assert len(rounds) == steps // SPG
    # the generation batches drawn follow the trainer's data order, refills included
    calls = [groups_of(c) for c in reward.calls]
    assert calls == data_order(trainer)[:len(calls)]
    assert sum(len(r["calls"]) for r in rounds) == len(reward.calls)  # one reward call per generation batch
    metrics = []
    for r in rounds:
        batch, expected = expected_round(r["calls"], reward.informative, budget)
        assert groups_of(r["pids"]) == batch
        # advantages are those of the kept groups: GRPO's within the group
        rewards = torch.tensor(reward.expected(r["pids"])).view(-1, GENS)
        adv = (rewards - rewards.mean(1, keepdim=True)) / (rewards.std(1, keepdim=True) + 1e-4)
        assert torch.allclose(torch.tensor(r["advantages"]), adv.flatten(), atol=1e-5)
        check_layout(r["output"], trainer.processing_class.pad_token_id)
        metrics += [expected] * SPG
    logged = [e for e in trainer.state.log_history if "loss" in e]
    assert len(logged) == steps
    for entry, expected in zip(logged, metrics):
        for key in KEYS:
            assert entry[key] == pytest.approx(expected[key]), (entry["step"], key)
    return metrics


def test_rules():
    nan = float("nan")
    rewards = torch.tensor([1., 1, 1, 1, 0, 1, 0, 0, 1, nan, 1, 1, nan, 2, nan, nan])
    assert informative_groups(rewards, 4) == [False, True, False, False]
    assert assemble_groups([1, 2, 3, 4, 5], 4, [9]) == ([1, 2, 3, 4], 0)
    assert assemble_groups([7, 8, 9], 4, [0]) == ([7, 8, 9, 7], 1)
    assert assemble_groups([], 4, [0, 1, 2, 3]) == ([0, 1, 2, 3], 4)


@pytest.mark.integration
def test_constant_groups_are_dropped_and_refilled_from_the_next_prompts(base, tmp_path):
    reward = Scripted(informative=range(1, N_PROMPTS, 2))  # odd prompt ids
    trainer = make_trainer(recording(ds_class()), base, reward, tmp_path, steps=8, dynamic_sampling=True,
                           max_generation_batches=4)
    trainer.train()
    metrics = check_run(trainer, reward, 4, 8)
    for r in trainer.rounds:  # the batch holds informative groups only
        assert all(p % 2 for p in r["pids"])
    assert any(len(r["calls"]) > 1 for r in trainer.rounds)  # refills happened
    assert len(reward.calls) > 4  # ... and consumed data beyond the 4 batches of an unfiltered run
    assert any(m[FILTERED_SHARE] > 0 for m in metrics)


@pytest.mark.integration
@pytest.mark.parametrize("informative", [(), (5,)], ids=["all_constant", "one_informative_prompt"])
def test_the_budget_of_generation_batches_is_respected(base, tmp_path, informative):
    """No informative group: exactly the budget's generation batches, then the
    last one unfiltered (zero advantages). One informative prompt: whenever it was
    drawn, its group repeated to fill the batch."""
    reward = Scripted(informative=informative)
    trainer = make_trainer(recording(ds_class()), base, reward, tmp_path, steps=8, dynamic_sampling=True,
                           max_generation_batches=3)
    trainer.train()
    metrics = check_run(trainer, reward, 3, 8)
    assert all(len(r["calls"]) == 3 for r in trainer.rounds)
    assert trainer.state.global_step == 8  # training went on
    if not informative:
        assert all(m == {FILTERED_SHARE: 1.0, GENERATION_BATCHES: 3.0, FILLED_SHARE: 1.0} for m in metrics)
        assert all(a == 0 for r in trainer.rounds for a in r["advantages"])
    else:
        repeated = [r for r in trainer.rounds if 5 in r["pids"]]
        assert repeated and all(r["pids"] == [5] * PROMPTS * GENS for r in repeated)


@pytest.mark.integration
def test_the_host_sees_the_assembled_batch_rewards(base, tmp_path):
    """mirage puts the mixin between ClaimGRPOTrainer and GRPOTrainer: the
    claim's polarity hook runs after the mixin and reads ``_batch_rewards``."""
    from trl import GRPOTrainer

    class Host(DynamicSamplingMixin, GRPOTrainer):
        def _calculate_rewards(self, *args):
            rewards_per_func = super()._calculate_rewards(*args)
            self._batch_rewards = rewards_per_func.nansum(dim=1)
            return rewards_per_func

    reward = Scripted(informative=range(0, N_PROMPTS, 3))
    trainer = make_trainer(recording(Host), base, reward, tmp_path, steps=4, dynamic_sampling=True,
                           max_generation_batches=2)
    trainer.train()
    for r in trainer.rounds:
        assert r["batch_rewards"].tolist() == reward.expected(r["pids"])


def comparable(log_history):
    skip = {"step_time", "train_runtime", "train_samples_per_second", "train_steps_per_second"}
    return [{k: v for k, v in e.items() if k not in skip} for e in log_history]


@pytest.mark.integration
def test_off_is_the_plain_trainer_and_on_without_dropped_groups_too(base, tmp_path):
    def run(cls, name, **kwargs):
        reward = Scripted(informative=range(N_PROMPTS))  # every group informative
        trainer = make_trainer(cls, base, reward, tmp_path / name, steps=4, **kwargs)
        trainer.train()
        return trainer, reward

    plain, r_plain = run(claim_trainer_class(), "plain")
    off, r_off = run(ds_class(), "off", dynamic_sampling=False)
    on, r_on = run(ds_class(), "on", dynamic_sampling=True, max_generation_batches=2)
    assert r_plain.calls == r_off.calls == r_on.calls
    assert comparable(plain.state.log_history) == comparable(off.state.log_history)
    assert not any(k.startswith("dynamic_sampling/") for e in off.state.log_history for k in e)
    for name, p in plain.model.state_dict().items():
        assert p.equal(off.model.state_dict()[name]) and p.equal(on.model.state_dict()[name]), name
    logged = [e for e in on.state.log_history if "loss" in e]
    assert all(e[FILTERED_SHARE] == 0 and e[GENERATION_BATCHES] == 1 and e[FILLED_SHARE] == 0 for e in logged)
    strip = lambda log: [{k: v for k, v in e.items() if not k.startswith("dynamic_sampling/")} for e in log]
    assert strip(comparable(on.state.log_history)) == comparable(plain.state.log_history)


@pytest.mark.integration
def test_a_run_stopped_after_a_checkpoint_resumes_to_the_same_run(base, tmp_path):
    """Generation batches refilled before the checkpoint are not drawn again:
    the resumed run continues the data order where the killed one was."""
    steps, kwargs = 12, {"dynamic_sampling": True, "max_generation_batches": 2}

    def run(name, checkpoints=None, callbacks=(), resume=None):
        reward = Bernoulli()
        if resume is not None:
            load_extra_state(resume, {"reward": reward})
        trainer = make_trainer(ds_class(), base, reward, tmp_path / name, steps=steps, checkpoints=checkpoints,
                               callbacks=[resume_callback({"reward": reward}), *callbacks], **kwargs)
        trainer.train(resume_from_checkpoint=str(resume) if resume is not None else None)
        return trainer, reward

    straight, r_straight = run("straight")
    ckpt = CheckpointDir(tmp_path / "ckpt", every=2)
    ckpt.prepare("run")
    with pytest.raises(Killed):
        run("resumed", ckpt, [StopAfterSaving(6)])
    assert ckpt.latest().name == "checkpoint-6"
    resumed, r_resumed = run("resumed", ckpt, resume=ckpt.latest())
    assert r_resumed.calls == r_straight.calls
    assert len(r_straight.calls) > steps // SPG  # there were refills
    logged = lambda t: [e for e in t.state.log_history if "loss" in e]
    assert [e[GENERATION_BATCHES] for e in logged(straight)] == [e[GENERATION_BATCHES] for e in logged(resumed)]
    assert comparable(logged(straight)) == comparable(logged(resumed))
    for name, p in straight.model.state_dict().items():
        assert p.equal(resumed.model.state_dict()[name]), name
    assert not math.isnan(logged(straight)[-1]["loss"])


TWO_PROCESSES = '''
import json, sys
sys.path.insert(0, {tests!r})
import test_dynamic_sampling as t
from accelerate.utils import gather_object

t.PROMPTS = {prompts}
reward = t.Scripted(informative=range(1, t.N_PROMPTS, 2))
trainer = t.make_trainer(t.recording(t.ds_class()), {base!r}, reward, t.Path({out!r}), steps=8, dynamic_sampling=True,
                         max_generation_batches=4)
trainer.train()
rounds = gather_object([[{{k: r[k] for k in ("calls", "pids", "advantages")}} for r in trainer.rounds]])
weights = gather_object([{{k: v.sum().item() for k, v in trainer.model.state_dict().items()}}])
if trainer.accelerator.is_main_process:
    logged = [e for e in trainer.state.log_history if "loss" in e]
    json.dump({{"rounds": rounds, "logged": logged, "weights": weights}}, open({out!r} + "/result.json", "w"))
trainer.accelerator.wait_for_everyone()
t.torch.distributed.destroy_process_group()  # else gloo's threads may abort the exit ("terminate called ...")
'''


@pytest.mark.integration
@pytest.mark.parametrize("prompts", [4, 3], ids=["groups_within_a_process", "groups_across_processes"])
def test_two_processes(base, tmp_path, monkeypatch, prompts):
    """torchrun, gloo: the decision is global and each process trains on its
    slice of the assembled batch. With 3 prompts of 4 completions per generation
    batch each process holds 6 rows: a group spans both processes."""
    import json
    import socket
    import subprocess
    import sys

    monkeypatch.setattr(sys.modules[__name__], "PROMPTS", prompts)
    script = tmp_path / "two.py"
    script.write_text(TWO_PROCESSES.format(tests=str(Path(__file__).parent), prompts=prompts, base=base,
                                           out=str(tmp_path)))
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    with socket.socket() as sock:  # a free port: other jobs may run torchrun beside this one
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port", str(port), str(script)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["weights"][0] == result["weights"][1]
    rank0, rank1 = result["rounds"]
    reward = Scripted(informative=range(1, N_PROMPTS, 2))
    order = data_order(make_trainer(ds_class(), base, reward, tmp_path / "order"))
    calls, metrics = [], []
    for r0, r1 in zip(rank0, rank1):  # the global view: process 0's rows, then process 1's
        round_calls = [a + b for a, b in zip(r0["calls"], r1["calls"])]
        calls += [groups_of(c) for c in round_calls]
        batch, expected = expected_round(round_calls, reward.informative, 4)
        pids = r0["pids"] + r1["pids"]
        assert groups_of(pids) == batch
        rewards = torch.tensor(reward.expected(pids)).view(-1, GENS)
        adv = (rewards - rewards.mean(1, keepdim=True)) / (rewards.std(1, keepdim=True) + 1e-4)
        assert torch.allclose(torch.tensor(r0["advantages"] + r1["advantages"]), adv.flatten(), atol=1e-5)
        metrics += [expected] * SPG
    assert calls == order[:len(calls)] and len(calls) > len(rank0)
    for entry, expected in zip(result["logged"], metrics, strict=True):
        for key in KEYS:
            assert entry[key] == pytest.approx(expected[key])
