"""``dedup``: keep one copy of each duplicated trajectory, the best one, in two passes.

Which copy survives is decided by a stated rule, not by stream order: **successful before
unsuccessful, then fewest assistant turns, then earliest in the input**. The best copy may come
after the first, so the unit plans over the whole input first (``prepare``) and keeps, per
record, only a rank and a signature, never the record, then emits in the streaming pass.

Modes:

- ``exact``: same task prompt, same whitespace-normalised code in every ``<execute>`` (in
  order) and same final answer. The prompt is part of the key because two different MATH
  problems answered ``<solution>5</solution>`` with no code are not duplicates.
- ``near``: MinHash (``datasketch``) over word ``shingle``-grams of the assistant turns, with
  the task prompt as one extra shingle (so two bare identical answers to different tasks do
  not match, while long trajectories are judged on their turns); LSH finds candidates and each
  candidate is confirmed on the stored signatures (estimated Jaccard >= ``threshold``), so LSH
  false positives never drop anything. Matches are merged transitively (A~B and B~C put A, B
  and C in one cluster). Memory: about 1.5 KB per record reaching the unit (the signature,
  ``num_perm`` × 4 bytes, plus one 8-byte key per LSH band), freed once the plan is made.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from array import array
from collections.abc import Iterable
from typing import Any

import numpy as np

from trajkit.filters.base import ParamError
from trajkit.filters.turns import assistant_turns
from trajkit.filters.two_pass import KeepBitmap, TwoPassUnit
from trajkit.schemas import ActionKind, Trajectory

MODES = ("exact", "near")
#: Upper bounds datasketch accepts (a numpy seed is below 2**32); ``num_perm`` is capped well
#: below its 2**32 so the signature (``num_perm`` × 4 bytes per record) stays small.
MAX_NUM_PERM = 8192
MAX_SEED = 2**32 - 1
_TOKEN = re.compile(r"\w+|[^\w\s]")
_ORDINAL_BITS = 40
_TURN_CAP = (1 << 21) - 1


def rank(traj: Trajectory, position: int) -> int:
    """Sort key packed in one int (smaller is better): failed?, turns, position."""
    failed = 0 if traj.success else 1
    turns = min(assistant_turns(traj), _TURN_CAP)
    return (failed << 62) | (turns << _ORDINAL_BITS) | position


def exact_key(traj: Trajectory) -> bytes:
    """16-byte digest of the normalised prompt, execute code (in order) and answer, plus the
    function calls made (name and arguments, in order) in the formats that make them (a code
    record has none and keeps the digest it always had)."""
    codes = [" ".join(s.action.content.split()) for s in traj.steps if s.action.kind is ActionKind.EXECUTE]
    calls = [f"{c.name} {' '.join(c.arguments.split())}" for s in traj.steps for c in s.calls]
    key: list[Any] = [" ".join(traj.task.prompt.split()), codes, traj.answer or ""]
    blob = json.dumps([*key, calls] if calls else key, ensure_ascii=False)
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).digest()


class _TokenHashes(dict):
    """crc32 of each token, memoised: tokens repeat, and a dict lookup is ~10x cheaper than
    encoding and hashing again. Cleared when large so memory stays bounded on huge runs."""

    LIMIT = 1 << 20

    def __missing__(self, token: str) -> int:
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[token] = zlib.crc32(token.encode("utf-8"))
        return value


def shingle_hashes(traj: Trajectory, k: int, cache: dict[str, int] | None = None) -> np.ndarray:
    """32-bit hashes of the k-token shingles of the assistant turns, plus one for the prompt.

    Tokens are lowercased words and single punctuation marks; shingles never span two turns.
    crc32 (not Python's ``hash``, which is salted per process) keeps signatures, and so the
    clusters, identical in every process: a rebuild must drop the same copies.
    """
    token_hash = (cache if cache is not None else _TokenHashes()).__getitem__
    prompt = " ".join(traj.task.prompt.lower().split())
    parts = [np.array([zlib.crc32(b"\x00prompt:" + prompt.encode("utf-8"))], dtype=np.uint64)]
    for msg in traj.messages:
        if msg.role != "assistant":
            continue
        toks = _TOKEN.findall(msg.content.lower())
        if not toks:
            continue
        h = np.fromiter(map(token_hash, toks), dtype=np.uint64, count=len(toks))
        width = min(k, len(h))
        s = h[: len(h) - width + 1].copy()
        for j in range(1, width):
            s = s * np.uint64(0x100000001B3) + h[j : len(h) - width + 1 + j]
        parts.append(s)
    allh = np.concatenate(parts)
    return np.unique((allh ^ (allh >> np.uint64(32))) & np.uint64(0xFFFFFFFF)).astype(np.uint32)


class DedupFilter(TwoPassUnit):
    """Drops ``exact_duplicate`` / ``near_duplicate`` for every copy but the best."""

    name = "dedup"

    def __init__(
        self,
        mode: str = "exact",
        threshold: float = 0.85,
        num_perm: int = 128,
        shingle: int = 3,
        seed: int = 1,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ParamError("mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
            raise ParamError("threshold", f"must be a number in (0, 1], got {threshold!r}")
        for param, value, low, high in (
            ("num_perm", num_perm, 16, MAX_NUM_PERM), ("shingle", shingle, 1, None),
            ("seed", seed, 0, MAX_SEED),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParamError(param, f"must be a whole number >= {low}, got {value!r}")
            if high is not None and value > high:
                raise ParamError(param, f"must be a whole number <= {high}, got {value!r}")
        self.mode, self.threshold = mode, float(threshold)
        self.num_perm, self.shingle, self.seed = num_perm, shingle, seed

    @property
    def params(self) -> dict[str, Any]:
        if self.mode == "exact":
            return {"mode": "exact"}
        return {"mode": "near", "threshold": self.threshold, "num_perm": self.num_perm,
                "shingle": self.shingle, "seed": self.seed}

    def reason_at(self, pos: int, traj: Trajectory) -> str:
        return f"{self.mode}_duplicate"

    def plan(self, trajs: Iterable[Trajectory]) -> KeepBitmap:
        return self._plan_exact(trajs) if self.mode == "exact" else self._plan_near(trajs)

    def _plan_exact(self, trajs: Iterable[Trajectory]) -> KeepBitmap:
        best: dict[bytes, int] = {}
        count = 0
        for pos, traj in enumerate(trajs):
            count += 1
            key, r = exact_key(traj), rank(traj, pos)
            if r < best.get(key, 1 << 63):
                best[key] = r
        return _bitmap(count, best.values())

    def _plan_near(self, trajs: Iterable[Trajectory]) -> KeepBitmap:
        from datasketch import MinHash, MinHashLSH

        perms = MinHash(num_perm=self.num_perm, seed=self.seed, scheme="affine32").permutations
        # datasketch picks the banding (b bands of r rows) that best separates pairs around
        # the threshold; the band tables are kept here, with 8-byte keys and int values, at a
        # third of the memory MinHashLSH's general-purpose storage needs per record.
        shape = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        bands = [(i * shape.r, (i + 1) * shape.r) for i in range(shape.b)]
        tables: list[dict[int, int | list[int]]] = [{} for _ in bands]
        sigs = np.empty((1024, self.num_perm), dtype=np.uint32)
        ranks = array("q")
        parent = array("q")

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        tokens = _TokenHashes()
        for pos, traj in enumerate(trajs):
            # The shingles are already 32-bit hashes: ``int`` (a C call) is the hash function.
            mh = MinHash(num_perm=self.num_perm, seed=self.seed, hashfunc=int,
                         permutations=perms, scheme="affine32")
            mh.update_batch(shingle_hashes(traj, self.shingle, tokens).tolist())
            if pos == len(sigs):
                sigs = np.concatenate([sigs, np.empty_like(sigs)])
            sig = sigs[pos] = mh.hashvalues
            ranks.append(rank(traj, pos))
            parent.append(pos)
            keys = [_band_key(sig[a:b]) for a, b in bands]
            candidates: set[int] = set()
            for table, key in zip(tables, keys, strict=True):
                hit = table.get(key)
                if isinstance(hit, int):
                    candidates.add(hit)
                elif hit is not None:
                    candidates.update(hit)
            identical = False
            if candidates:
                ordered = sorted(candidates)
                similarity = (sigs[np.array(ordered, dtype=np.int64)] == sig).mean(axis=1)
                for other, sim in zip(ordered, similarity.tolist(), strict=True):
                    if sim >= self.threshold:  # confirmed on the signatures, not just a band
                        a, b = find(other), find(pos)
                        if a != b:
                            parent[max(a, b)] = min(a, b)
                        identical = identical or sim == 1.0
            if identical:  # its twin's bands already lead every later copy to this cluster
                continue
            for table, key in zip(tables, keys, strict=True):
                hit = table.get(key)
                if hit is None:
                    table[key] = pos
                elif isinstance(hit, int):
                    table[key] = [hit, pos]
                else:
                    hit.append(pos)
        count = len(ranks)
        del tables, sigs
        best: dict[int, int] = {}
        for pos in range(count):
            root = find(pos)
            if ranks[pos] < best.get(root, 1 << 63):
                best[root] = ranks[pos]
        return _bitmap(count, best.values())


def _band_key(band: np.ndarray) -> int:
    """A deterministic 64-bit key for one band (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(band.tobytes(), digest_size=8).digest(), "little")


def _bitmap(count: int, winners: Iterable[int]) -> KeepBitmap:
    keep = KeepBitmap(count)
    mask = (1 << _ORDINAL_BITS) - 1
    for packed in winners:
        keep.set(packed & mask)
    return keep
