"""Building blocks of the synthetic AdventureWorks: randomness, package data, Arrow columns.

Every random stream is derived from ``(seed, name, batch)`` so a table or batch gives the same
rows whatever was generated before it. Money is handled as ``int64`` ten-thousandths
(``numeric(19,4)`` exactly); timestamps as ``datetime64[s]``.
"""

from __future__ import annotations

import binascii
import csv
import zlib
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker

MONEY = pa.decimal128(19, 4)
DAY = np.timedelta64(1, "D")
SECOND = np.timedelta64(1, "s")

# The six sales territories' countries and the faker locale of their people.
LOCALES = {
    "US": "en_US",
    "CA": "en_CA",
    "GB": "en_GB",
    "FR": "fr_FR",
    "DE": "de_DE",
    "AU": "en_AU",
}


def rng_for(seed: int, *stream: str | int) -> np.random.Generator:
    """An independent, reproducible random generator for one named stream of one seed."""
    key = [seed % 2**128]
    key += [zlib.crc32(s.encode()) if isinstance(s, str) else int(s) for s in stream]
    return np.random.default_rng(key)


def faker_for(locale: str, seed: int, stream: str) -> Faker:
    fake = Faker(locale)
    fake.seed_instance((seed % 2**128) * 1_000_003 + zlib.crc32(f"{locale}/{stream}".encode()))
    return fake


def data_path(name: str):
    return resources.files("adw_assets.lib.source").joinpath("data", name)


@cache
def read_data(name: str) -> tuple[dict[str, str], ...]:
    """Rows of a package data CSV (``data/<name>``) as dicts of strings."""
    with data_path(name).open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def data_bytes(name: str) -> bytes:
    return data_path(name).read_bytes()


def weighted(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with probability proportional to ``weights``."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=size, p=p / p.sum())


def uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random (version 4) lowercase UUID strings, built without a Python loop."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.frombuffer(binascii.hexlify(raw.tobytes()), dtype=np.uint8).reshape(n, 32)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for dst, src in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        width = 8 if src == 0 else 12 if src == 20 else 4
        out[:, dst : dst + width] = hexed[:, src : src + width]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.tobytes()))


def money(units: np.ndarray) -> pa.Array:
    """``numeric(19,4)`` values from ``int64`` ten-thousandths, exactly."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty((len(units), 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63
    return pa.Array.from_buffers(MONEY, len(units), [None, pa.py_buffer(words.tobytes())])


def timestamps(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype("datetime64[s]"), pa.timestamp("s"), mask=mask)


def pick(pool: list[str] | pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``pool[idx]`` as an Arrow string array; rows where ``mask`` is true are NULL."""
    arr = pool if isinstance(pool, pa.Array) else pa.array(pool, pa.string())
    return arr.take(pa.array(idx, pa.int64(), mask=mask))


def pool_pick(rng: np.random.Generator, pool: pa.Array, spans: dict, keys: np.ndarray) -> pa.Array:
    """For each key, a random entry of its part ``spans[key] = (offset, size)`` of ``pool``."""
    n = len(keys)
    offset = np.zeros(n, dtype=np.int64)
    size = np.ones(n, dtype=np.int64)
    for key, (start, count) in spans.items():
        here = keys == key
        offset[here], size[here] = start, count
    return pick(pool, offset + (rng.random(n) * size).astype(np.int64))


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise string concatenation of arrays (and constant strings)."""
    return pc.binary_join_element_wise(*parts, sep)


def digits(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    """``n`` random strings of ``width`` decimal digits (leading zeros kept)."""
    values = rng.integers(0, 10**width, size=n, dtype=np.int64)
    return pc.utf8_lpad(pa.array(values).cast(pa.string()), width, "0")


def hex_upper(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    raw = np.frombuffer(rng.bytes(n * ((width + 1) // 2)), dtype=np.uint8)
    text = binascii.hexlify(raw.tobytes()).upper()
    step = ((width + 1) // 2) * 2
    chars = np.frombuffer(text, dtype=np.uint8).reshape(n, step)[:, :width].copy()
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def as_text(values: np.ndarray) -> pa.Array:
    return pa.array(values).cast(pa.string())
