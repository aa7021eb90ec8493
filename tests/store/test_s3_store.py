"""The ``s3://`` store, end to end, against an S3-compatible server on loopback (issue 16, item 4).

The whole path: a driver killed mid-run, the resume that completes it, a rerun with nothing to do,
export, analyze, verify and compact; then what object stores make different: a part becomes visible
whole or not at all without a rename (an upload cut short or a writer killed mid-upload leaves no
visible part), and a real transient failure (the server paused) is retried, not quarantined.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from naswot_ray.store import RetryPolicy, Store
from tests.cliutil import run_inprocess
from tests.procutil import kill_session
from tests.store.moto_s3 import CREDENTIALS, moto_server

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 6


@pytest.fixture(scope="module")
def s3():
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)  # before Ray starts: its workers inherit the credentials
        with moto_server() as server:
            yield server


@pytest.fixture(scope="module")
def ray_address(s3):
    """A local Ray in this process (in-process runs use it); subprocess drivers join it by address."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="naswot-s3-tests")
    yield context.address_info["gcs_address"]
    ray.shutdown()


def _score_args(uri: str) -> list[str]:
    return ["score-all", "--space", "nb201", "--metrics", "naswot,params", "--dataset", "random", "--batch-size", "8",
            "--limit", str(LIMIT), "--store", uri, "--device", "cpu", "--no-progress", "--no-dashboard",
            "--num-workers", "1", "--chunk-size", "1", "--flush-rows", "1"]


def _accuracies(uri: str) -> None:
    """Trained accuracies of the scored cells (written directly: no benchmark file needed)."""
    from naswot_ray.accuracies.schema import ACCURACIES  # registers the table

    now = datetime.now(timezone.utc)
    cells = {r["arch_index"]: r["arch"] for r in Store(uri).scan("scores", columns=["arch_index", "arch"]).to_pylist()}
    Store(uri).write(ACCURACIES, [{"space": "nb201", "arch_index": i, "arch": arch, "dataset": "cifar10",
                                   "split": "ori-test", "epochs": 200, "accuracy": 50.0 + (i * 7919) % 97 / 3,
                                   "source": "test", "imported_at": now} for i, arch in cells.items()])


def test_score_kill_resume_export_analyze_verify_compact_on_s3(s3, ray_address, tmp_path, capsys) -> None:
    uri = s3.uri("store")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    driver = subprocess.Popen([sys.executable, "-m", "naswot_ray.cli.main", *_score_args(uri), "--address", ray_address],
                              cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not Store(uri).part_files("scores"):
            assert driver.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no part reached the object store in time"
            time.sleep(0.2)
    finally:
        kill_session(driver.pid)  # the driver only: the Ray cluster is this test's
        driver.wait(timeout=30)
    killed = Counter(Store(uri).load("scores").column("key").to_pylist())
    assert 0 < len(killed) < 2 * LIMIT, "the kill must land mid-run"

    code, out, err = run_inprocess(capsys, *_score_args(uri))
    assert code == 0, err
    assert f"requested {LIMIT}, already stored {len(killed) // 2}," in out
    raw = Store(uri).load("scores")
    assert len(raw) == 2 * LIMIT and set(Counter(raw.column("key").to_pylist()).values()) == {1}
    assert set(raw.column("status").to_pylist()) == {"ok"}
    code, out, _ = run_inprocess(capsys, *_score_args(uri))
    assert code == 0 and f"nothing to do: all {LIMIT} requested architectures are already stored" in out

    csv_path = tmp_path / "naswot.csv"
    code, _, err = run_inprocess(capsys, "export", "--store", uri, "--space", "nb201", "--metric", "naswot",
                                 "--format", "csv", "--output", str(csv_path))
    assert code == 0, err
    assert len(csv_path.read_text().strip().splitlines()) == LIMIT + 1

    _accuracies(uri)
    code, out, err = run_inprocess(capsys, "analyze", "--store", uri, "--metrics", "naswot,params", "--no-plots",
                                   "--out", str(tmp_path / "analysis"))
    assert code == 0, err
    assert "naswot" in out and "cifar10" in out

    time.sleep(1.5)  # the killed driver's heartbeat is now older than --stale-after 1
    code, out, _ = run_inprocess(capsys, "store", "verify", "--store", uri, "--stale-after", "1")
    assert code == 0, out
    assert "never finished (crashed)" in out
    parts_before = len(Store(uri).part_files("scores"))
    code, out, err = run_inprocess(capsys, "store", "compact", "--store", uri, "--stale-after", "1")
    assert code == 0, err
    assert f"scores: {parts_before} parts ({2 * LIMIT} rows) -> 1 parts ({2 * LIMIT} rows)" in out
    assert len(Store(uri).part_files("scores")) == 1
    compacted = Store(uri).load("scores")
    assert sorted(compacted.column("key").to_pylist()) == sorted(raw.column("key").to_pylist())
    code, out, _ = run_inprocess(capsys, "store", "verify", "--store", uri, "--stale-after", "1")
    assert code == 0 and out.strip().endswith(": OK"), out


def _rows(indices) -> list[dict]:
    return [{"key": f"k{i}", "space": "nb201", "arch_index": i, "metric": "naswot", "value": float(i), "status": "ok"}
            for i in indices]


def test_an_upload_cut_mid_write_leaves_no_visible_part(s3, monkeypatch) -> None:
    """pyarrow's S3 stream completes a half-written upload when it is closed on an error; a part written
    straight to its final name would then be visible and truncated (the control below shows it)."""
    import pyarrow as pa

    from naswot_ray.errors import EnvironmentProblem
    from naswot_ray.store import files

    uri = s3.uri("cut")
    store = Store(uri, retry=RetryPolicy(attempts=2, first_delay=0.01))
    store.write("scores", _rows([0]))

    def cut_upload(fs, path, data) -> None:
        with fs.open_output_stream(path) as out:
            out.write(pa.py_buffer(bytes(data)[: len(data) // 2]))
            raise OSError("AWS Error NETWORK_CONNECTION during UploadPart operation: connection reset")

    monkeypatch.setattr(files, "upload", cut_upload)
    with pytest.raises(EnvironmentProblem):
        store.write("scores", _rows(range(1, 400)))
    monkeypatch.undo()
    assert Store(uri).existing_keys() == {"k0"} and Store(uri).problems == []
    hidden = [o for o in s3.objects("cut/scores") if o.rsplit("/", 1)[1].startswith(".tmp-")]
    assert hidden, "the cut upload completed under its hidden name, where no reader looks"

    control = f"{s3.bucket}/cut/scores/part-control.parquet"  # what writing to the final name would do
    with pytest.raises(OSError):
        cut_upload(s3.filesystem(), control, files.serialise(pa.Table.from_pylist(_rows(range(400)))))
    assert control in s3.objects("cut/scores")
    reader = Store(uri)
    assert reader.existing_keys() == {"k0"} and [p.path for p in reader.problems] == [control]


def test_a_writer_killed_mid_upload_leaves_no_visible_part(s3, tmp_path) -> None:
    uri = s3.uri("killed")
    script = (
        "import os, signal, sys; import numpy as np, pyarrow as pa\n"
        "from naswot_ray.store import Store, files\n"
        "def dying_upload(fs, path, data):\n"
        "    out = fs.open_output_stream(path)\n"
        "    out.write(pa.py_buffer(bytes(data)[: len(data) // 2]))\n"
        "    out.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
        "files.upload = dying_upload\n"
        "n = 300_000\n"
        "Store(sys.argv[1]).write('scores', pa.table({'key': [f'k{i}' for i in range(n)], 'space': ['nb201'] * n,\n"
        "    'value': np.random.default_rng(0).random(n), 'status': ['ok'] * n}))\n")
    done = subprocess.run([sys.executable, "-c", script, uri], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert Store(uri).part_files("scores") == [] and Store(uri).load("scores").num_rows == 0
    assert s3.objects("killed/scores") == []  # the multipart upload never completed: no object at all


def test_a_real_transient_failure_is_retried_and_nothing_quarantined(s3) -> None:
    """The server is paused (SIGSTOP) while a reader lists and reads: pyarrow gets real network timeouts,
    the store retries, the server resumes, the read completes."""
    import pyarrow.fs as pafs

    uri = s3.uri("paused")
    Store(uri).write("scores", _rows(range(5)))
    fs = s3.filesystem(request_timeout=1, connect_timeout=1, retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1))
    reader = Store(uri, filesystem=fs, retry=RetryPolicy(attempts=6, first_delay=0.5))
    result: dict = {}
    s3.process.send_signal(signal.SIGSTOP)
    try:
        thread = threading.Thread(target=lambda: result.update(keys=reader.existing_keys()))
        thread.start()
        time.sleep(2.5)
    finally:
        s3.process.send_signal(signal.SIGCONT)
    thread.join(timeout=60)
    assert result.get("keys") == {f"k{i}" for i in range(5)}
    assert reader.retried >= 1 and reader.problems == [] and reader.quarantine() == []
    assert any("after retrying a transient error" in line for line in reader.summary_lines())
    assert len(Store(uri).part_files("scores")) == 1
