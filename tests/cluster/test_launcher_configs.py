"""The Ray cluster-launcher YAMLs are valid for the installed Ray and keep the cluster closed.

Validity is judged by Ray itself: its JSON schema (ray/autoscaler/ray-schema.json) and the same
prepare/validate steps `ray up` runs before it contacts a cloud. The policy checks cover what a
schema cannot: GPU workers exist and can autoscale, token authentication is on, the dashboard stays on
loopback, and the nodes install the naswot-ray build this checkout produces.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml

from tests.cluster.quoted_commands import CLUSTER, REPO, check, commands_in_shell

CONFIGS = [CLUSTER / "aws-gpu.yaml", CLUSTER / "gcp-gpu.yaml"]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]
WHEEL = f"{PROJECT['name'].replace('-', '_')}-{VERSION}-py3-none-any.whl"
IMAGE_SUFFIX = f"/naswot-ray:{VERSION}-gpu"
#: AWS instance families with NVIDIA GPUs (g4dn/g5/g6/p3/p4d/p5 ...)
AWS_GPU_INSTANCE = re.compile(r"^(g4dn|g5|g6e?|p3|p3dn|p4d|p4de|p5e?)\.")
#: GCP machine types that come with their GPUs attached
GCP_GPU_MACHINE = re.compile(r"^(a2|a3|g2)-")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _ray_start_commands(config: dict, key: str):
    quoted = [q for line in config[key] for q in commands_in_shell(line, f"{key}")]
    return [q for q in quoted if q.argv[:2] == ("ray", "start")]


@pytest.fixture(scope="module")
def ray_schema() -> dict:
    path = Path(ray.__file__).parent / "autoscaler" / "ray-schema.json"
    assert path.is_file(), f"the installed Ray ships no launcher schema at {path}"
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_matches_the_schema_of_the_installed_ray(path, ray_schema):
    config = _load(path)
    errors = sorted(jsonschema.Draft7Validator(ray_schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_check_rejects_a_typo(ray_schema):
    config = _load(CONFIGS[0])
    config["available_node_types"]["gpu_a10g"]["min_worker"] = 1
    assert not jsonschema.Draft7Validator(ray_schema).is_valid(config)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_passes_rays_own_preflight(path):
    """What `ray up` does before any cloud call: merge the provider defaults, check docker and node types."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(_load(path)))
    validate_config(prepared)
    assert prepared["head_node_type"] in prepared["available_node_types"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_gpu_workers_autoscale_and_the_head_takes_no_scorers(path):
    config = _load(path)
    provider = config["provider"]["type"]
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"].get("CPU") == 0 and not head["resources"].get("GPU")
    workers = {name: t for name, t in types.items() if name != config["head_node_type"]}
    assert workers
    for name, node in workers.items():
        assert 0 <= node["min_workers"] <= node["max_workers"], name
        node_config = node["node_config"]
        if provider == "aws":
            assert AWS_GPU_INSTANCE.match(node_config["InstanceType"]), f"{name} is not a GPU instance type"
        else:
            assert node["resources"]["GPU"] >= 1, f"{name}: GCP needs the GPU count spelled out"
            assert node_config.get("guestAccelerators") or GCP_GPU_MACHINE.match(node_config["machineType"]), name
            assert node_config["scheduling"]["onHostMaintenance"] == "TERMINATE", f"{name}: GPU VMs cannot migrate"
    assert any(node["min_workers"] >= 1 for node in workers.values()), "no GPU is up when the cluster starts"
    assert any(node["max_workers"] > node["min_workers"] for node in workers.values()), "nothing can scale up"
    assert config["max_workers"] >= sum(node["max_workers"] for node in workers.values())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_token_authentication_stays_on_and_the_dashboard_on_loopback(path):
    config = _load(path)
    assert "RAY_AUTH_MODE=disabled" not in path.read_text()
    assert "-e RAY_AUTH_MODE=token" in config["docker"]["run_options"]
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = _ray_start_commands(config, key)
        assert len(starts) == 1, key
        assert any(re.search(r"(^|[;&\s])RAY_AUTH_MODE=token\s+ray start\b", line) for line in config[key]), key
    head_start = check(_ray_start_commands(config, "head_start_ray_commands")[0])
    assert head_start.params["head"] is True
    assert head_start.params["dashboard_host"] == "127.0.0.1"
    worker_start = check(_ray_start_commands(config, "worker_start_ray_commands")[0])
    assert worker_start.params["address"] == "$RAY_HEAD_IP:6379"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_nodes_run_our_image_and_install_this_checkouts_wheel(path):
    config = _load(path)
    assert config["docker"]["image"].endswith(IMAGE_SUFFIX)
    remote = f"~/naswot-ray-dist/{WHEEL}"
    assert config["file_mounts"][remote] == f"./dist/{WHEEL}", "the wheel name must follow pyproject's version"
    installs = [q.argv for line in config["setup_commands"] for q in commands_in_shell(line, "setup")]
    assert any(argv[:2] == ("pip", "install") and "--no-deps" in argv and remote in argv for argv in installs)
    assert ("naswot-ray", "--version") in installs
