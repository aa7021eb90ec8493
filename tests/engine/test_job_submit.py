"""`ray job submit` of a short score-all to a real head started with `ray start --head` on loopback.

Token authentication stays on: the test writes its own token file, points every Ray process at it
(RAY_AUTH_TOKEN_PATH, RAY_AUTH_MODE=token), and checks the job API refuses a request without it.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from naswot_ray.store import Store
from tests.procutil import kill_session

pytestmark = pytest.mark.ray

RAY = str(Path(sys.executable).with_name("ray"))
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def head(tmp_path_factory):
    base = Path(f"/tmp/nrj-{secrets.token_hex(3)}")  # short: Ray's unix socket paths must stay < 108 bytes
    base.mkdir()
    token_file = base / "token"
    token_file.write_text(secrets.token_hex(32))
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_file))
    env.pop("RAY_ADDRESS", None)
    gcs_port, dashboard_port, agent_port, metrics_port = (_free_port() for _ in range(4))
    # every port explicit: a default one (e.g. the job agent's 52365) may be taken by another Ray on this host
    start = subprocess.Popen([RAY, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={gcs_port}",
                              "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}",
                              f"--dashboard-agent-listen-port={agent_port}", f"--metrics-export-port={metrics_port}",
                              "--num-cpus=2",
                              f"--temp-dir={base / 'ray'}", "--disable-usage-stats"],
                             env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{dashboard_port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(f"{url}/api/version",
                                             headers={"Authorization": f"Bearer {token_file.read_text()}"})
            urllib.request.urlopen(request, timeout=2)
            break
        except Exception:
            assert start.poll() is None, "ray start exited"
            time.sleep(1)
    else:
        kill_session(start.pid)
        pytest.fail("the head's dashboard did not come up")
    try:
        yield url, env, token_file.read_text(), base
    finally:
        kill_session(start.pid)
        start.wait(timeout=30)


def test_job_submit_runs_score_all_to_success(head) -> None:
    url, env, token, base = head
    store = base / "store"
    unauthorised = urllib.request.Request(f"{url}/api/jobs/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unauthorised, timeout=10)
    assert refused.value.code in (401, 403)
    command = [RAY, "job", "submit", "--address", url, "--no-wait", "--submission-id", "naswot-test-job", "--",
               sys.executable, "-m", "naswot_ray.cli.main", "score-all", "--space", "nb201", "--metrics", "naswot,params",
               "--dataset", "random", "--batch-size", "16", "--indices", "0-5", "--store", str(store), "--address",
               "auto", "--no-progress", "--num-workers", "2"]
    deadline = time.monotonic() + 120
    while True:  # the dashboard answers before its job agent has registered: "No available agent"
        submit = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        if submit.returncode == 0 or "No available agent" not in submit.stderr or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert submit.returncode == 0, submit.stderr
    deadline, status = time.monotonic() + 300, ""
    while time.monotonic() < deadline:
        status = subprocess.run([RAY, "job", "status", "--address", url, "naswot-test-job"], env=env,
                                capture_output=True, text=True, timeout=60).stdout.lower()
        if any(word in status for word in ("succeeded", "failed", "stopped")):
            break
        time.sleep(2)
    logs = subprocess.run([RAY, "job", "logs", "--address", url, "naswot-test-job"], env=env,
                          capture_output=True, text=True, timeout=60).stdout
    assert "succeeded" in status, f"{status}\n{logs}"
    assert "scored 6, failed 0" in logs
    table = Store(str(store)).read("scores")
    assert table.num_rows == 12 and set(table.column("status").to_pylist()) == {"ok"}
