"""Named actors in the dashboard (token required) and our custom metrics on the Prometheus endpoint."""

from __future__ import annotations

import json
import os
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from naswot_ray.data import BatchSpec
from naswot_ray.engine.driver import run_score_all
from naswot_ray.engine.job import ScoreJob

pytestmark = pytest.mark.ray


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _token() -> str:
    token = os.environ.get("RAY_AUTH_TOKEN")
    if token:
        return token.strip()
    path = Path.home() / ".ray" / "auth_token"
    return path.read_text().strip()


@pytest.fixture(scope="module")
def ray_with_dashboard():
    import ray

    if ray.is_initialized():
        ray.shutdown()
    metrics_port, dashboard_port = _free_port(), _free_port()
    ctx = ray.init(address="local", num_cpus=2, include_dashboard=True, dashboard_host="127.0.0.1", dashboard_port=dashboard_port,
                   _metrics_export_port=metrics_port, _system_config={"metrics_report_interval_ms": 500},
                   log_to_driver=False)
    yield ctx, metrics_port
    ray.shutdown()


@pytest.fixture(scope="module")
def finished_run(ray_with_dashboard, tmp_path_factory):
    store = tmp_path_factory.mktemp("obs") / "store"
    job = ScoreJob(space="nb201", metrics=["naswot", "params"], batch=BatchSpec("random", batch_size=16, image_size=16),
                   store=str(store), indices=list(range(6)), num_workers=2, chunk_size=1, progress=False)
    return run_score_all(job)


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


def test_dashboard_lists_named_actors_only_with_the_token(ray_with_dashboard, finished_run) -> None:
    ctx, _ = ray_with_dashboard
    url = f"http://{ctx.dashboard_url}/api/v0/actors?limit=1000"
    assert ctx.dashboard_url.startswith("127.0.0.1:")  # loopback only
    status, body = _get(url, _token())
    assert status == 200
    actors = json.loads(body)["data"]["result"]["result"]
    ours = {a["name"] for a in actors if a.get("ray_namespace", "").startswith("naswot-" + finished_run.run_id)}
    if not ours:  # older state APIs omit the namespace field
        ours = {a["name"] for a in actors if a["class_name"] in ("SamplerActor", "ScorerActor")}
    assert {"sampler", "scorer-0", "scorer-1"} <= ours
    denied, _ = _get(url)
    assert denied in (401, 403)
    wrong, _ = _get(url, "not-the-token")
    assert wrong in (401, 403)


def test_custom_metrics_reach_the_prometheus_endpoint(ray_with_dashboard, finished_run) -> None:
    _, port = ray_with_dashboard
    wanted = {"ray_naswot_archs_scored_total", "ray_naswot_arch_seconds_bucket", "ray_naswot_queue_depth"}
    deadline, found, body = time.monotonic() + 60, set(), ""
    while time.monotonic() < deadline and found != wanted:
        status, body = _get(f"http://127.0.0.1:{port}/metrics")
        found = {name for name in wanted if re.search(rf"^{name}\{{", body, flags=re.M)}
        time.sleep(1)
    assert found == wanted, f"missing {wanted - found}"
    scored = [float(m.group(1)) for m in re.finditer(
        r'^ray_naswot_archs_scored_total\{[^}]*metric="naswot"[^}]*space="nb201"[^}]*\} (\S+)', body, flags=re.M)]
    assert scored and sum(scored) >= 1
