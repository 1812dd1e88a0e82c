"""Adversarial completions for the verifiers: what a model may emit that a grader
must survive without crashing, hanging or executing anything. Used by the
property tests and by benchmarks/verifier_robustness.py."""

from __future__ import annotations

import numpy as np

UNICODE_DIGITS = "٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３４５６７８９"


def adversarial_answers(rng: np.random.Generator) -> list[tuple[str, str]]:
    """(kind, answer text) pairs: huge numbers, deep LaTeX, megabyte strings,
    control characters, Unicode digits, unbalanced tags and brackets."""
    n = int(rng.integers(1, 9))
    return [
        ("huge_integer", "9" * 1_000_000),
        ("huge_float", "1." + "3" * 200_000 + "e99999"),
        ("deep_latex", "\\frac{" * 2_000 + "1" + "}{2}" * 2_000),
        ("deep_boxed", "\\boxed{" * 5_000 + "7" + "}" * 5_000),
        ("unclosed_boxed", "\\boxed{" * 100_000),
        ("megabyte", "x" * 1_000_000),
        ("control_chars", "".join(chr(int(c)) for c in rng.integers(0, 32, size=64)) + str(n)),
        ("unicode_digits", "".join(UNICODE_DIGITS[int(i)] for i in rng.integers(0, len(UNICODE_DIGITS), size=12))),
        ("power_tower", "10^{10^{10^{10^{10}}}}"),
        ("huge_factorial", "(10^{100})!"),
        ("nested_brackets", "[[" * 50_000 + "A" + "]]" * 10),
        ("many_lists", ", ".join(str(i) for i in range(100_000))),
        ("code_like", "__import__('os').system('echo pwned')"),
        ("null_bytes", "\x00" * 1000 + "12"),
        ("emoji", "🙂" * 10_000),
    ]


def wrap(answer: str, how: int) -> str:
    """The answer inside a completion: well formed, tags unbalanced or missing."""
    return [
        f"<think>t</think><answer>{answer}</answer>",
        f"<think>t</think><answer>{answer}",
        f"<think>t<answer>{answer}</answer></answer></think>",
        f"{answer}</answer>",
        answer,
        f"<think>{answer}</think><answer>{answer}</answer>" * 2,
    ][how % 6]
