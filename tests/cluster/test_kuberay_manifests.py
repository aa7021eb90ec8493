"""The KubeRay manifests have the shape the ray.io/v1 CRDs need and run what we mean them to run.

No Kubernetes API server is available here, so the checks are structural: the fields KubeRay
requires, GPU limits on the worker pods, our image, token authentication, and, for the RayJob, an
entrypoint that is a real score-all command joining the cluster, whose --store is reachable from the
head pod (an object-store URI, or a path on a volume mounted from a claim that the file defines).
"""

from __future__ import annotations

import re
import tomllib

import pytest
import ray
import yaml

from tests.cluster.quoted_commands import CLUSTER, REPO, check, commands_in_shell

KUBERAY = CLUSTER / "kuberay"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
IMAGE_SUFFIX = f"/naswot-ray:{VERSION}-gpu"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _documents(name: str) -> list[dict]:
    docs = [d for d in yaml.safe_load_all((KUBERAY / name).read_text()) if d is not None]
    assert docs, name
    return docs


def _one(name: str, kind: str) -> dict:
    found = [d for d in _documents(name) if d.get("kind") == kind]
    assert len(found) == 1, f"{name} should hold exactly one {kind}"
    return found[0]


def _containers(group: dict) -> list[dict]:
    return group["template"]["spec"]["containers"]


def check_cluster_spec(spec: dict, *, where: str) -> None:
    """What every RayCluster spec of ours needs, standalone or inside a RayJob."""
    assert spec["rayVersion"] == ray.__version__, f"{where}: rayVersion must match the Ray in the image"
    assert spec["authOptions"]["mode"] == "token", f"{where}: token authentication must stay on"
    assert spec["enableInTreeAutoscaling"] is True
    head = spec["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0", f"{where}: scorers must not land on the head"
    head_containers = _containers(head)
    assert head_containers and all(c["image"].endswith(IMAGE_SUFFIX) for c in head_containers)
    workers = spec["workerGroupSpecs"]
    assert workers, f"{where}: no worker group"
    for group in workers:
        assert DNS_LABEL.match(group["groupName"])
        low, start, high = group["minReplicas"], group["replicas"], group["maxReplicas"]
        assert all(isinstance(v, int) for v in (low, start, high))
        assert 0 <= low <= start <= high and high >= 1, f"{where}/{group['groupName']}: replicas out of bounds"
        assert "rayStartParams" in group
        for container in _containers(group):
            assert container["image"].endswith(IMAGE_SUFFIX)
            limits = container["resources"]["limits"]
            assert int(limits["nvidia.com/gpu"]) >= 1, f"{where}/{group['groupName']}: no GPU limit"
            requests = container["resources"].get("requests", {})
            assert requests.get("nvidia.com/gpu", limits["nvidia.com/gpu"]) == limits["nvidia.com/gpu"]


@pytest.mark.parametrize("name", ["raycluster.yaml", "rayjob.yaml"])
def test_every_document_is_a_well_formed_kubernetes_object(name):
    for doc in _documents(name):
        assert {"apiVersion", "kind", "metadata", "spec"} <= doc.keys()
        assert DNS_LABEL.match(doc["metadata"]["name"]), doc["metadata"]["name"]
        if doc["kind"] in ("RayCluster", "RayJob"):
            assert doc["apiVersion"] == "ray.io/v1"


def test_raycluster():
    cluster = _one("raycluster.yaml", "RayCluster")
    check_cluster_spec(cluster["spec"], where="raycluster.yaml")
    # A standalone cluster is reached through kubectl port-forward: the dashboard stays on loopback.
    assert cluster["spec"]["headGroupSpec"]["rayStartParams"]["dashboard-host"] == "127.0.0.1"


def test_rayjob_runs_a_real_score_all_and_cleans_up():
    job = _one("rayjob.yaml", "RayJob")
    spec = job["spec"]
    assert spec["shutdownAfterJobFinishes"] is True
    assert isinstance(spec["ttlSecondsAfterFinished"], int) and spec["ttlSecondsAfterFinished"] >= 0
    check_cluster_spec(spec["rayClusterSpec"], where="rayjob.yaml")
    head = spec["rayClusterSpec"]["headGroupSpec"]
    # The operator's submitter reaches the job API over the pod network; that is only acceptable
    # with the token on (checked above) and the head Service kept inside the cluster.
    if head["rayStartParams"].get("dashboard-host", "0.0.0.0") != "127.0.0.1":
        assert head.get("serviceType", "ClusterIP") == "ClusterIP"

    entry = [q for q in commands_in_shell(spec["entrypoint"], "entrypoint") if q.program == "naswot-ray"]
    assert len(entry) == 1 and entry[0].argv[1] == "score-all", spec["entrypoint"]
    params = check(entry[0]).params
    assert params["address"] == "auto"
    _check_store_reachable(params["store"], spec["rayClusterSpec"], "rayjob.yaml")


def _check_store_reachable(store: str, cluster_spec: dict, name: str) -> None:
    if re.match(r"^(s3|gs|gcs|abfs|hdfs)://", store):
        return
    head_pod = cluster_spec["headGroupSpec"]["template"]["spec"]
    volumes = {v["name"]: v for v in head_pod.get("volumes", [])}
    mounts = [m for c in head_pod["containers"] for m in c.get("volumeMounts", [])]
    holding = [m for m in mounts if store.startswith(m["mountPath"].rstrip("/") + "/")]
    assert holding, f"--store {store} is on no volume of the head pod: it would vanish with the pod"
    claim = volumes[holding[0]["name"]].get("persistentVolumeClaim", {}).get("claimName")
    assert claim, f"--store {store} must be on a PersistentVolumeClaim to outlive the cluster"
    claims = {d["metadata"]["name"] for d in _documents(name) if d["kind"] == "PersistentVolumeClaim"}
    assert claim in claims, f"claim {claim} is not defined in {name}"
    fs_group = head_pod.get("securityContext", {}).get("fsGroup")
    assert fs_group is not None, "the image's ray user needs fsGroup to write the claim"


def test_store_check_rejects_a_store_on_the_pod_filesystem():
    spec = _one("rayjob.yaml", "RayJob")["spec"]["rayClusterSpec"]
    with pytest.raises(AssertionError, match="no volume"):
        _check_store_reachable("/home/ray/naswot-store", spec, "rayjob.yaml")
    _check_store_reachable("s3://bucket/prefix", spec, "rayjob.yaml")
