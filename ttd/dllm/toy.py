"""A synthetic language and a tiny trainer, so sampler claims can be checked on CPU in a minute.

The task is string reversal: `<bos>abcd=` must be answered `dcba` followed by EOS padding. It is
deterministic, so a trained model's per-position marginals are sharp and parallel decoding should lose
nothing, which is exactly Fast-dLLM's claim to test: threshold decoding matches one-token-per-step accuracy
with far fewer forwards. Training follows LLaDA's SFT objective: mask each answer token with probability
t ~ U(0, 1), predict the masked ones, weight the loss by 1 / t.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttd.dllm import deps

LETTERS = "abcdef"
SPECIALS = ["<pad>", "<mask>", "<eos>", "<bos>", "<unk>"]
VOCAB = SPECIALS + ["=", " "] + list(LETTERS)
PAD, MASK, EOS, BOS = 0, 1, 2, 3
GEN_LENGTH = 8  # answers are at most 6 letters, then EOS padding
CHAT_TEMPLATE = "{{ bos_token }}{{ messages[-1]['content'] }}{% if add_generation_prompt %}={% endif %}"


def make_tokenizer() -> Any:
    """A character-level fast tokenizer with a chat template, saveable next to the model."""
    tf = deps.transformers()
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(VOCAB)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = tf.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        mask_token="<mask>",
        unk_token="<unk>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_config(**overrides: Any) -> Any:
    from ttd.dllm.modeling import DiffusionConfig

    params = dict(
        vocab_size=len(VOCAB),
        d_model=64,
        n_layers=2,
        n_heads=4,
        mlp_hidden_size=192,
        max_sequence_length=64,
        mask_token_id=MASK,
        eos_token_id=EOS,
        pad_token_id=PAD,
        bos_token_id=BOS,
    )
    return DiffusionConfig(**{**params, **overrides})


def save_model(model: Any, path: Path) -> Path:
    """save_pretrained the model with the toy tokenizer: a directory `dllm/<path>` can load offline."""
    model.save_pretrained(path)
    make_tokenizer().save_pretrained(path)
    return path


def build_random_model(path: Path, seed: int = 0, **overrides: Any) -> Path:
    torch = deps.torch()
    from ttd.dllm.modeling import DiffusionTransformer

    torch.manual_seed(seed)
    return save_model(DiffusionTransformer(tiny_config(**overrides)), path)


def tiny_model(n_layers: int = 2, seed: int = 0) -> Any:
    """A random-weight tiny model in eval mode (tests and smoke runs)."""
    torch = deps.torch()
    from ttd.dllm.modeling import DiffusionTransformer

    torch.manual_seed(seed)
    return DiffusionTransformer(tiny_config(n_layers=n_layers)).eval()


def sample_word(rng: random.Random) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 6)))


def encode_prompt(word: str) -> list[int]:
    return [BOS] + [VOCAB.index(c) for c in word] + [VOCAB.index("=")]


def encode_answer(word: str) -> list[int]:
    ids = [VOCAB.index(c) for c in reversed(word)]
    return ids + [EOS] * (GEN_LENGTH - len(ids))


def _batch(rng: random.Random, size: int, device: Any) -> tuple[Any, Any, Any]:
    """Left-padded prompts followed by answers: ids (B, P + G), key mask, answer-position mask."""
    torch = deps.torch()
    words = [sample_word(rng) for _ in range(size)]
    width = max(len(encode_prompt(w)) for w in words)
    ids = torch.full((size, width + GEN_LENGTH), PAD, dtype=torch.long)
    keys = torch.zeros_like(ids)
    for i, w in enumerate(words):
        p = encode_prompt(w)
        ids[i, width - len(p) : width] = torch.tensor(p)
        ids[i, width:] = torch.tensor(encode_answer(w))
        keys[i, width - len(p) :] = 1
    answer = torch.zeros_like(ids, dtype=torch.bool)
    answer[:, width:] = True
    return ids.to(device), keys.to(device), answer.to(device)


@dataclass
class TrainReport:
    steps: int
    seconds: float
    final_loss: float


def train(model: Any, steps: int = 500, batch_size: int = 64, lr: float = 5e-3, seed: int = 0) -> TrainReport:
    """LLaDA SFT on the reversal language: masked answer tokens, loss weighted by 1 / t."""
    torch = deps.torch()
    rng = random.Random(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small only loses to thread contention (8x slower on 2 busy cores)
    started = time.perf_counter()
    try:
        loss_value = _train_loop(model, opt, sched, rng, steps, batch_size)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return TrainReport(steps, time.perf_counter() - started, loss_value)


def _train_loop(model: Any, opt: Any, sched: Any, rng: random.Random, steps: int, batch_size: int) -> float:
    torch = deps.torch()
    F = torch.nn.functional
    loss_value = float("nan")
    for _ in range(steps):
        ids, keys, answer = _batch(rng, batch_size, model.device)
        t = torch.rand(batch_size, 1, device=ids.device).clamp(min=1e-3)
        masked = answer & (torch.rand(ids.shape, device=ids.device) < t)
        noisy = torch.where(masked, torch.full_like(ids, MASK), ids)
        logits = model(noisy, attention_mask=keys).logits
        ce = F.cross_entropy(logits[masked], ids[masked], reduction="none")
        loss = (ce / t.expand_as(ids)[masked]).sum() / answer.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss_value = float(loss.detach())
    return loss_value


@dataclass
class EvalReport:
    accuracy: float
    nfe: int
    tokens: int
    seconds: float

    @property
    def tokens_per_forward(self) -> float:
        return self.tokens / max(self.nfe, 1)


def evaluate(lm: Any, words: list[str], options: Any, batch_size: int = 64) -> EvalReport:
    """Exact-match accuracy of the decoded answers and the forwards spent, over batches of prompts."""
    from ttd.dllm.engine import generate_ids

    correct = nfe = tokens = 0
    seconds = 0.0
    for i in range(0, len(words), batch_size):
        chunk = words[i : i + batch_size]
        out = generate_ids(lm, [encode_prompt(w) for w in chunk], options)
        nfe += out.nfe
        seconds += out.seconds
        tokens += out.generated.shape[1]  # per sequence: a batched forward decodes every row at once
        for w, row in zip(chunk, out.generated.tolist(), strict=True):
            correct += lm.answer_ids(row) == [VOCAB.index(c) for c in reversed(w)]
    return EvalReport(correct / len(words), nfe, tokens, seconds)


def eval_words(n: int, seed: int = 1234) -> list[str]:
    rng = random.Random(seed)
    return [sample_word(rng) for _ in range(n)]
