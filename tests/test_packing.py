"""Tree packing of shared prefixes: exact layouts, the same loss and gradients as the texts unpacked, the traps of
custom 4-D masks (each with a test that has teeth), and resume after a kill with packed data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from faithex.regimes import PromptOptions, get_regime
from faithex.regimes.base import record
from faithex.training import TrainConfig, build_trainer, lora, loss_mask_preview, packing, train_adapter
from faithex.training.packing import IGNORE_INDEX, SharedPrefixCollator, TokenizedText, group_records, pack_texts

# Measured on the tiny model in float32 (max over the cases below): loss 1.0e-7 and LoRA gradients 9.9e-7 relative
# (to the largest entry of each gradient; summation order differs packed and unpacked). The bound leaves 10x room.
RELATIVE_TOLERANCE = 1e-5
MIN = torch.finfo(torch.float32).min
PAD = 0


# -- records --------------------------------------------------------------------------------------------------------


def varied_texts(i: int) -> dict[str, str]:
    """Inputs and targets of unequal lengths, so that rows differ in width and batches carry padding."""
    return {"input": f"in {i}" + " word" * (3 * i % 7), "reasoning": "r" * (1 + i % 3),
            "answer": "yes" if i % 2 else "no", "explanation": "since" + " y" * (i % 5)}


def regime_records(name: str, count: int) -> list[dict]:
    """Paper 1's records for hand-made examples, laid out by the regime itself (`request`), three or two per example."""
    regime, options = get_regime(name), PromptOptions()
    rows = []
    for i in range(count):
        texts = varied_texts(i)
        if regime.reasoning:
            rows.append(record(regime.request("reasoning", texts["input"], options), texts["reasoning"]))
        for kind in ("answer", "explanation"):
            rows.append(record(regime.request(kind, texts["input"], options, texts["reasoning"]), texts[kind]))
    return rows


def three_question_records(count: int) -> list[dict]:
    """Three texts per example that share [system][user: INPUT] and differ from the next user turn on: 3 branches."""
    rows = []
    for i in range(count):
        texts = varied_texts(i)
        for question, target in (("ANSWER", texts["answer"]), ("EXPLAIN", texts["explanation"]), ("WHY", "r" * i)):
            prompt = [{"role": "system", "content": ""}, {"role": "user", "content": texts["input"]},
                      {"role": "user", "content": question}]
            rows.append(record(prompt, target or "none"))
    return rows


def two_answer_records(count: int) -> list[dict]:
    """Two texts per example with the same prompt and different answers: the branches begin inside the completion,
    so each branch's first token carries loss even with loss on completions only."""
    rows = []
    for i in range(count):
        prompt = [{"role": "system", "content": ""}, {"role": "user", "content": varied_texts(i)["input"]}]
        rows += [record(prompt, "yes" + "!" * (i % 3)), record(prompt, "no")]
    return rows


LAYOUTS = {
    "joint (2 branches)": lambda count: regime_records("joint", count),
    "joint_reasoning (a whole text as prefix, 2 branches)": lambda count: regime_records("joint_reasoning", count),
    "3 branches": three_question_records,
    "same prompt, 2 answers": two_answer_records,
}


# -- exact layouts --------------------------------------------------------------------------------------------------


def additive(visible: list[list[int]]) -> torch.Tensor:
    """The expected additive mask of one row from a 0/1 table of who may see whom (row: query, column: key)."""
    table = torch.tensor(visible, dtype=torch.bool)
    return torch.zeros(table.shape).masked_fill(~table, MIN)


TWO_BRANCHES = [
    TokenizedText([1, 2, 3, 4, 5], [IGNORE_INDEX] * 3 + [4, 5]),
    TokenizedText([1, 2, 3, 6, 7, 8], [IGNORE_INDEX] * 3 + [6, 7, 8]),
]
SHORT_ROW = [TokenizedText([1, 9], [IGNORE_INDEX, 9])]  # a row of one text, padded in the batch


def test_two_branches_and_a_padded_row():
    rows = [pack_texts(TWO_BRANCHES), pack_texts(SHORT_ROW)]
    batch = SharedPrefixCollator(pad_token_id=PAD)([row.as_dict() for row in rows])

    assert batch["input_ids"].tolist() == [[1, 2, 3, 4, 5, 6, 7, 8], [1, 9, PAD, PAD, PAD, PAD, PAD, PAD]]
    # positions restart after the prefix in every branch; padding at 0
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 4, 3, 4, 5], [0, 1, 0, 0, 0, 0, 0, 0]]
    # (column that predicts, target): each branch's first token is predicted by the prefix's last column (2), not by
    # the previous branch's last token (column 4 predicts nothing of branch 2)
    assert list(zip(rows[0].loss_columns, rows[0].loss_targets)) == [(2, 4), (2, 6), (3, 5), (5, 7), (6, 8)]
    assert batch["loss_columns"].tolist() == [[2, 2, 3, 5, 6], [0, 0, 0, 0, 0]]
    assert batch["loss_targets"].tolist() == [[4, 6, 5, 7, 8], [9, 0, 0, 0, 0]]
    assert batch["loss_weights"].tolist() == [[1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]
    expected = torch.stack([
        additive([[1, 0, 0, 0, 0, 0, 0, 0],
                  [1, 1, 0, 0, 0, 0, 0, 0],
                  [1, 1, 1, 0, 0, 0, 0, 0],
                  [1, 1, 1, 1, 0, 0, 0, 0],  # branch 1: the prefix and itself
                  [1, 1, 1, 1, 1, 0, 0, 0],
                  [1, 1, 1, 0, 0, 1, 0, 0],  # branch 2: the prefix and itself, never branch 1
                  [1, 1, 1, 0, 0, 1, 1, 0],
                  [1, 1, 1, 0, 0, 1, 1, 1]]),
        additive([[1, 0, 0, 0, 0, 0, 0, 0],
                  [1, 1, 0, 0, 0, 0, 0, 0],
                  [1, 1, 1, 0, 0, 0, 0, 0],  # padding is seen by no other token; it sees the prefix and
                  [1, 1, 0, 1, 0, 0, 0, 0],  # itself (harmless: no loss there), so no row is fully masked
                  [1, 1, 0, 0, 1, 0, 0, 0],
                  [1, 1, 0, 0, 0, 1, 0, 0],
                  [1, 1, 0, 0, 0, 0, 1, 0],
                  [1, 1, 0, 0, 0, 0, 0, 1]]),
    ])[:, None]
    assert batch["attention_mask"].dtype == torch.float32
    assert torch.equal(batch["attention_mask"], expected)


def test_three_branches_and_a_text_that_is_all_prefix():
    texts = [
        TokenizedText([1, 2], [IGNORE_INDEX, 2]),  # like joint_reasoning's reasoning text: all of it is shared
        TokenizedText([1, 2, 3, 4], [IGNORE_INDEX] * 2 + [3, 4]),
        TokenizedText([1, 2, 5, 6], [IGNORE_INDEX] * 2 + [5, 6]),
        TokenizedText([1, 2, 7], [IGNORE_INDEX] * 2 + [7]),
    ]
    row = pack_texts(texts)
    assert row.input_ids == [1, 2, 3, 4, 5, 6, 7]  # prefix [1, 2]; branches [], [3, 4], [5, 6], [7]
    assert row.position_ids == [0, 1, 2, 3, 2, 3, 2]
    assert row.segments == [0, 0, 2, 2, 3, 3, 4]
    # column 1 (the prefix's last) predicts the first token of every branch; text 1's only target comes from column 0
    assert list(zip(row.loss_columns, row.loss_targets)) == [(0, 2), (1, 3), (1, 5), (1, 7), (2, 4), (4, 6)]
    assert row.text_tokens == 13
    batch = SharedPrefixCollator(pad_token_id=PAD)([row.as_dict(), pack_texts(SHORT_ROW).as_dict()])
    expected = additive([[1, 0, 0, 0, 0, 0, 0],
                         [1, 1, 0, 0, 0, 0, 0],
                         [1, 1, 1, 0, 0, 0, 0],
                         [1, 1, 1, 1, 0, 0, 0],
                         [1, 1, 0, 0, 1, 0, 0],
                         [1, 1, 0, 0, 1, 1, 0],
                         [1, 1, 0, 0, 0, 0, 1]])
    assert torch.equal(batch["attention_mask"][0, 0], expected)
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 2, 3, 2], [0, 1, 0, 0, 0, 0, 0]]
    assert batch["loss_weights"].tolist() == [[1] * 6, [1, 0, 0, 0, 0, 0]]


def test_terms_shared_by_several_texts_weigh_as_many():
    """With loss on every token, the prefix is labelled once per text: one term of weight k, not k terms."""
    texts = [TokenizedText([1, 2, 3, 4], [1, 2, 3, 4]), TokenizedText([1, 2, 3, 5, 6], [1, 2, 3, 5, 6])]
    row = pack_texts(texts)
    assert list(zip(row.loss_columns, row.loss_targets, row.loss_weights)) == [
        (0, 2, 2), (1, 3, 2), (2, 4, 1), (2, 5, 1), (4, 6, 1)]


def test_records_are_grouped_by_their_shared_context_wherever_they_are():
    records = regime_records("joint_reasoning", 4)
    order = [5, 0, 7, 2, 9, 11, 1, 3, 4, 6, 8, 10]  # examples' records scattered
    groups = group_records([records[i] for i in order])
    assert sorted(sorted(order[i] // 3 for i in group) for group in groups) == [[0] * 3, [1] * 3, [2] * 3, [3] * 3]
    # a context shared by many records (fixed demonstrations, say) never makes one giant row
    same_context = [record(records[0]["prompt"], f"target {i}") for i in range(20)]
    assert [len(group) for group in group_records(same_context, max_texts=8)] == [8, 8, 4]


# -- the model takes the layout -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from faithex.lm.models import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def tiny_model(tiny_model_dir, attention: str):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32, attn_implementation=attention)


class PackedCase:
    """Records tokenised one by one and packed into rows, and the collated packed batch."""

    def __init__(self, tokenizer, records, completion_only: bool = True):
        self.texts = [packing.tokenize_record(tokenizer, r, completion_only) for r in records]
        self.groups = group_records(records)
        self.rows = [pack_texts([self.texts[i] for i in group]) for group in self.groups]
        self.batch = SharedPrefixCollator(tokenizer.pad_token_id)([row.as_dict() for row in self.rows])
        self.pad_token_id = tokenizer.pad_token_id

    def model_inputs(self) -> dict[str, torch.Tensor]:
        return {key: self.batch[key] for key in packing.MODEL_KEYS}

    def columns_of(self, row: int, number: int) -> list[int]:
        """Where the tokens of the row's text `number` (1-based) sit: the prefix, then that text's branch."""
        return [column for column, segment in enumerate(self.rows[row].segments) if segment in (0, number)]


def hidden_states_match(model, case: PackedCase, inputs: dict[str, torch.Tensor]) -> bool:
    """Whether every text's tokens, read from the packed rows, have the hidden states of the text run alone."""
    with torch.no_grad():
        packed = model.model(**inputs).last_hidden_state
        for row, group in enumerate(case.groups):
            for number, index in enumerate(group, start=1):
                alone = model.model(input_ids=torch.tensor([case.texts[index].input_ids])).last_hidden_state[0]
                if not torch.allclose(packed[row, case.columns_of(row, number)], alone, rtol=1e-4, atol=1e-5):
                    return False
    return True


def zero_one_float(inputs):
    return {**inputs, "attention_mask": (inputs["attention_mask"] == 0).float()}


def boolean(inputs):
    return {**inputs, "attention_mask": inputs["attention_mask"] == 0}


def positions_without_mask(inputs):
    return {key: value for key, value in inputs.items() if key != "attention_mask"}


def mask_without_positions(inputs):
    return {key: value for key, value in inputs.items() if key != "position_ids"}


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_llama_takes_the_4d_mask_with_position_ids(tiny_model_dir, tokenizer, attention, layout):
    """transformers 5.23 passes our additive 4-D mask to sdpa and eager attention unchanged, and uses the explicit
    position ids: every packed token is computed exactly as in its own text."""
    case = PackedCase(tokenizer, LAYOUTS[layout](4))
    mask = case.batch["attention_mask"]
    assert mask.dtype.is_floating_point and set(mask.unique().tolist()) == {0.0, MIN}
    assert hidden_states_match(tiny_model(tiny_model_dir, attention), case, case.model_inputs())


@pytest.mark.parametrize(
    "trap, attention",
    [
        (zero_one_float, "sdpa"),  # a 0/1 float mask is added to the scores: every token sees everything
        (zero_one_float, "eager"),
        (boolean, "eager"),  # eager attention adds a bool mask as 0/1
        (positions_without_mask, "sdpa"),  # transformers guesses sequence boundaries: branches lose their prefix
        (positions_without_mask, "eager"),
        (mask_without_positions, "sdpa"),  # positions run on across branches
    ],
)
def test_each_trap_breaks_the_equality_the_layout_is_tested_with(tiny_model_dir, tokenizer, trap, attention):
    case = PackedCase(tokenizer, LAYOUTS["3 branches"](3))
    assert not hidden_states_match(tiny_model(tiny_model_dir, attention), case, trap(case.model_inputs()))


@pytest.mark.parametrize(
    "layout, completion_only", [("same prompt, 2 answers", True), ("3 branches", False), ("joint_reasoning", False)])
def test_a_branch_first_token_is_predicted_from_the_prefix_not_the_previous_branch(
    tiny_model_dir, tokenizer, layout, completion_only
):
    """Every labelled token's log-probability is read where its own text predicts it. The trap, the label shift of an
    ordinary text across the row, reads a branch's first token from the previous branch's last column; it matters
    where that token carries loss (a branch that begins inside the answer, or loss on every token)."""
    model = tiny_model(tiny_model_dir, "sdpa")
    records = regime_records(layout, 3) if layout == "joint_reasoning" else LAYOUTS[layout](3)
    case = PackedCase(tokenizer, records, completion_only)
    with torch.no_grad():
        packed = model(**case.model_inputs()).logits.log_softmax(-1)
    ours, naive = [], []
    for row, group in enumerate(case.groups):
        terms = set(zip(case.rows[row].loss_columns, case.rows[row].loss_targets))
        for number, index in enumerate(group, start=1):
            text, columns = case.texts[index], case.columns_of(row, number)
            with torch.no_grad():
                alone = model(input_ids=torch.tensor([text.input_ids])).logits[0].log_softmax(-1)
            for j in range(1, len(text.input_ids)):
                if text.labels[j] == IGNORE_INDEX:
                    continue
                target, reference = text.input_ids[j], alone[j - 1, text.input_ids[j]]
                assert (columns[j - 1], target) in terms  # the term the loss reads
                ours.append(abs(packed[row, columns[j - 1], target] - reference).item())
                naive.append(abs(packed[row, columns[j] - 1, target] - reference).item())
    assert max(ours) < 1e-5
    assert max(naive) > 1e-3


# -- the same training signal through the trainer ------------------------------------------------------------------


def set_lora_weights(model, seed: int = 0) -> None:
    """The same non-zero LoRA weights in two trainers (a fresh LoRA's B is zero, which would zero A's gradients)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in sorted(model.named_parameters()):
            if "lora_" in name:
                parameter.copy_(0.1 * torch.randn(parameter.shape, generator=generator))


def loss_and_gradients(trainer):
    """Loss and LoRA gradients of one batch holding the whole training set, through the trainer's own loss."""
    set_lora_weights(trainer.model)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(trainer.train_dataset))])
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    gradients = {name: p.grad.clone() for name, p in trainer.model.named_parameters() if p.requires_grad}
    return loss.item(), gradients


@pytest.mark.parametrize("loss_on", ["completion", "all"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_packed_batch_has_the_loss_and_gradients_of_its_texts(tiny_model_dir, tmp_path, layout, loss_on):
    records = LAYOUTS[layout](5)
    results = {}
    for packed in (False, True):
        config = TrainConfig(precision="fp32", loss_on=loss_on, lora_r=4, pack_shared_prefixes=packed)
        trainer, _ = build_trainer(tiny_model_dir, records, config, tmp_path / f"packed-{packed}")
        results[packed] = loss_and_gradients(trainer)
        widths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
        assert len(set(widths)) > 1  # rows of unequal width: the batch carries padding
    (loss, gradients), (packed_loss, packed_gradients) = results[False], results[True]
    assert abs(packed_loss - loss) <= RELATIVE_TOLERANCE * abs(loss)
    assert gradients.keys() == packed_gradients.keys()
    for name, gradient in gradients.items():
        scale = gradient.abs().max()
        assert scale > 0, name
        assert (packed_gradients[name] - gradient).abs().max() <= RELATIVE_TOLERANCE * scale, name


@pytest.mark.parametrize("loss_on", ["completion", "all"])
def test_tokenisation_is_trls(tiny_model_dir, tmp_path, loss_on):
    """Packed rows are built from TRL's own tokens and labels: the texts TRL prepares for the unpacked trainer."""
    records = regime_records("joint_reasoning", 3)
    trainer, _ = build_trainer(tiny_model_dir, records, TrainConfig(precision="fp32", loss_on=loss_on), tmp_path)
    for source, prepared in zip(records, trainer.train_dataset, strict=True):
        text = packing.tokenize_record(trainer.processing_class, source, completion_only=loss_on == "completion")
        assert (text.input_ids, text.labels) == (prepared["input_ids"], prepared["labels"])


def test_packed_trainer_holds_one_row_per_example(tiny_model_dir, tmp_path):
    records = regime_records("joint_reasoning", 3)
    trainer, _ = build_trainer(tiny_model_dir, records, TrainConfig(precision="fp32", pack_shared_prefixes=True),
                               tmp_path)
    assert len(trainer.train_dataset) == 3
    assert isinstance(trainer.data_collator, SharedPrefixCollator)
    assert packing.text_tokens(trainer.train_dataset) == sum(
        len(packing.tokenize_record(trainer.processing_class, r, True).input_ids) for r in records)
    for i, (text, loss_text) in enumerate(loss_mask_preview(trainer, count=3)):
        texts = varied_texts(i)
        assert text.count(texts["input"]) == 1  # the shared prefix, once
        assert loss_text == "".join(f"{texts[k]}<|im_end|>\n" for k in ("reasoning", "answer", "explanation"))


def test_packed_bf16_builds_its_mask_in_bf16(tiny_model_dir, tmp_path):
    """float32's finfo.min rounds to -inf in bf16: under bf16 autocast the mask is built in bf16 itself."""
    records = regime_records("joint_reasoning", 3)
    losses = {}
    for precision in ("fp32", "bf16"):
        config = TrainConfig(precision=precision, pack_shared_prefixes=True)
        trainer, _ = build_trainer(tiny_model_dir, records, config, tmp_path / precision)
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
        expected_dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        assert batch["attention_mask"].dtype == expected_dtype
        assert batch["attention_mask"].min() == torch.finfo(expected_dtype).min
        with torch.no_grad():
            losses[precision] = trainer.compute_loss(trainer.model, batch).item()
    assert abs(losses["bf16"] - losses["fp32"]) < 0.05 * losses["fp32"]


def test_a_packed_run_never_resumes_an_unpacked_checkpoint(tiny_model_dir):
    records = regime_records("joint", 2)
    fingerprints = {packed: lora.training_fingerprint(tiny_model_dir, records, TrainConfig(pack_shared_prefixes=packed),
                                                      "fp32", None) for packed in (False, True)}
    assert fingerprints[False] != fingerprints[True]


def test_packing_needs_faithex_loss(tiny_model_dir, tmp_path):
    from faithex.errors import ConfigError

    trainer, _ = build_trainer(tiny_model_dir, regime_records("joint", 2),
                               TrainConfig(precision="fp32", pack_shared_prefixes=True), tmp_path)
    batch = trainer.data_collator([trainer.train_dataset[0]])
    with pytest.raises(ConfigError, match="packed"):
        trainer.compute_loss(trainer.model, batch, return_outputs=True)


# -- resume after a kill, packed ------------------------------------------------------------------------------------

# 8 examples of joint_reasoning = 8 packed rows (24 texts), 2 rows per step, 2 epochs: 8 steps, 4 per epoch.
PACKED_SETTINGS = {"precision": "fp32", "epochs": 2, "batch_size": 2, "lora_r": 4, "lora_alpha": 8,
                   "learning_rate": 1e-2, "seed": 3, "pack_shared_prefixes": True}
TOTAL_STEPS, STEPS_PER_EPOCH = 8, 4

from test_training_resume import SLOW_TRAINING, crash_after  # noqa: E402  (the same crash and kill helpers)


def adapter_difference(first: Path, second: Path) -> float:
    from safetensors.torch import load_file

    a, b = load_file(str(first / "adapter_model.safetensors")), load_file(str(second / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    return max((a[name] - b[name]).abs().max().item() for name in a)


@pytest.fixture(scope="module")
def uninterrupted_packed(tiny_model_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("uninterrupted-packed") / "adapter"
    result = train_adapter(tiny_model_dir, regime_records("joint_reasoning", 8),
                           TrainConfig(**PACKED_SETTINGS, checkpoint_minutes=0), folder)
    assert result.steps == TOTAL_STEPS
    return folder


@pytest.mark.parametrize("crash_at", [2, 6])  # inside the first and inside the second epoch
def test_packed_training_interrupted_resumes_to_the_same_adapter(
    tiny_model_dir, tmp_path, monkeypatch, uninterrupted_packed, crash_at
):
    records, adapter_dir = regime_records("joint_reasoning", 8), tmp_path / "adapter"
    config = TrainConfig(**PACKED_SETTINGS, checkpoint_steps=1)
    crash_after(monkeypatch, crash_at)
    with pytest.raises(KeyboardInterrupt):
        train_adapter(tiny_model_dir, records, config, adapter_dir)
    monkeypatch.undo()

    result = train_adapter(tiny_model_dir, records, config, adapter_dir)

    assert result.resumed_from_step == crash_at
    assert adapter_difference(adapter_dir, uninterrupted_packed) == 0.0


def test_packed_training_killed_resumes_to_the_same_adapter(tiny_model_dir, tmp_path, uninterrupted_packed):
    records, adapter_dir = regime_records("joint_reasoning", 8), tmp_path / "adapter"
    settings = {**PACKED_SETTINGS, "checkpoint_steps": 1}
    with open(tmp_path / "child.log", "w") as log:
        arguments = json.dumps([tiny_model_dir, records, settings, str(adapter_dir)])
        child = subprocess.Popen([sys.executable, "-c", SLOW_TRAINING, arguments], stdout=log, stderr=log)
    trainer_dir = adapter_dir.with_name("adapter.partial") / "trainer"
    deadline = time.monotonic() + 120
    while not any(step > STEPS_PER_EPOCH for step in complete_checkpoints(trainer_dir)):
        assert child.poll() is None, (tmp_path / "child.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint within two minutes"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    result = train_adapter(tiny_model_dir, records, TrainConfig(**settings), adapter_dir)

    assert STEPS_PER_EPOCH < result.resumed_from_step < TOTAL_STEPS
    assert adapter_difference(adapter_dir, uninterrupted_packed) == 0.0


def complete_checkpoints(trainer_dir: Path) -> list[int]:
    return [int(c.name.split("-")[1]) for c in trainer_dir.glob("checkpoint-*") if (c / "trainer_state.json").is_file()]
