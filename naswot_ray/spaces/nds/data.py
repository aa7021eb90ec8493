"""Reading official NDS sweep files (facebookresearch/nds ``data.zip``; spaces-spec 5).

A file is a JSON list of records, or a dict {"top": [...], "mid": [...]} whose records are top + mid
(the order NASWOT and the NDS notebooks use, so record positions match NASWOT's uids). Every record
has a ``net`` dict: the architecture. Its identity key, the arch string of our NDS spaces, is
``json.dumps(net, sort_keys=True)`` (the NDS notebooks' key).

Why the checks live here and raise :class:`InputError`: a missing, corrupt or wrong-layout file must
stop a run with one clear line naming the file and what was expected, before anything is written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from naswot_ray.errors import InputError

EXPECTED_LAYOUT = 'a JSON list of NDS records, or {"top": [...], "mid": [...]}, each record holding a "net" dict'


def arch_key(net: dict) -> str:
    """The NDS identity key of a ``net`` dict, used as our arch string."""
    return json.dumps(net, sort_keys=True)


@dataclass(frozen=True)
class NDSFile:
    """What a space keeps of a sweep file: the path, its sha256, and the records' nets in order."""

    path: Path
    sha256: str
    nets: tuple[dict, ...]

    @property
    def label(self) -> str:
        """``<basename>:<sha256 prefix>``, stable across machines for the same file content."""
        return f"{self.path.name}:{self.sha256[:12]}"


def read_nds_records(path: str | Path) -> tuple[list[dict], str]:
    """All records of an NDS sweep file (top + mid for the dict layout) and the file's sha256."""
    path = Path(path).expanduser()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"NDS data file {str(path)!r} not found; expected {EXPECTED_LAYOUT}") from None
    except OSError as err:
        raise InputError(f"NDS data file {str(path)!r} cannot be read ({err.strerror}); expected {EXPECTED_LAYOUT}") from None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"NDS data file {str(path)!r} is not valid JSON ({err}); expected {EXPECTED_LAYOUT}") from None
    if isinstance(data, dict):
        if not isinstance(data.get("top"), list) or not isinstance(data.get("mid"), list):
            keys = ", ".join(sorted(map(str, data))) or "none"
            raise InputError(f"NDS data file {str(path)!r} is a dict with keys {keys}; expected {EXPECTED_LAYOUT}")
        records = data["top"] + data["mid"]
    elif isinstance(data, list):
        records = data
    else:
        raise InputError(f"NDS data file {str(path)!r} holds a JSON {type(data).__name__}; expected {EXPECTED_LAYOUT}")
    if not records:
        raise InputError(f"NDS data file {str(path)!r} holds no records; expected {EXPECTED_LAYOUT}")
    for position, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("net"), dict):
            raise InputError(f"NDS data file {str(path)!r}: record {position} has no 'net' dict; expected {EXPECTED_LAYOUT}")
    return records, digest


def load_nds_file(path: str | Path) -> NDSFile:
    """Read a sweep file, keeping only the nets (curves and statistics belong to the benchmark tables)."""
    records, digest = read_nds_records(path)
    return NDSFile(Path(path).expanduser(), digest, tuple(record["net"] for record in records))


__all__ = ["NDSFile", "arch_key", "load_nds_file", "read_nds_records", "EXPECTED_LAYOUT"]
