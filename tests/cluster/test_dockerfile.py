"""cluster/Dockerfile is well formed and builds the image the cluster configs expect.

No Docker engine is available here, so nothing is built: the file is parsed the way Docker reads
it and checked for what matters to the clusters. The base image carries the Ray version we test
with. The package's sources are copied and installed. PyTorch is pinned to the tested versions.
Token authentication is on, there is no ENTRYPOINT (the cluster launcher runs `docker run IMAGE bash`
and KubeRay sets its own command), and no secrets are baked in. The CMD is checked as a real
naswot-ray command by test_quoted_commands.py.
"""

from __future__ import annotations

import ast

import re
import shlex
import sys
import tomllib
from importlib.metadata import version

import ray

from tests.cluster.quoted_commands import CLUSTER, REPO, commands_in_shell, dockerfile_instructions, exec_form

DOCKERFILE = CLUSTER / "Dockerfile"
INSTRUCTIONS = dockerfile_instructions(DOCKERFILE.read_text())
KNOWN = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
         "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER"}
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|ACCESS_KEY|AUTH_TOKEN|API_KEY|CREDENTIAL)", re.IGNORECASE)
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _all(keyword: str):
    return [i for i in INSTRUCTIONS if i.keyword == keyword]


def _assignments(keyword: str) -> dict[str, str]:
    """NAME=value pairs of every ENV or ARG instruction (ARG without a default maps to '')."""
    out: dict[str, str] = {}
    for ins in _all(keyword):
        for word in shlex.split(ins.arguments):
            name, _, value = word.partition("=")
            out[name] = value
    return out


def _copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY/ADD, flags such as --chown dropped."""
    out = []
    for ins in _all("COPY") + _all("ADD"):
        words = exec_form(ins.arguments) or [w for w in shlex.split(ins.arguments) if not w.startswith("--")]
        out.append((words[:-1], words[-1]))
    return out


def test_only_known_instructions_and_from_comes_first():
    assert INSTRUCTIONS, "no instructions parsed"
    unknown = [f"line {i.line}: {i.keyword}" for i in INSTRUCTIONS if i.keyword not in KNOWN]
    assert not unknown
    first_from = next(n for n, i in enumerate(INSTRUCTIONS) if i.keyword == "FROM")
    assert all(i.keyword == "ARG" for i in INSTRUCTIONS[:first_from]), "only ARG may precede the first FROM"
    assert len(_all("FROM")) == 1


def test_base_image_is_the_official_ray_gpu_image_of_the_tested_version():
    image = _all("FROM")[0].arguments.split()[0]
    match = re.fullmatch(r"rayproject/ray:(?P<ray>[\d.]+)-py(?P<py>\d)(?P<minor>\d+)-gpu", image)
    assert match, f"base image {image!r} is not an official rayproject/ray GPU image"
    assert match["ray"] == ray.__version__, "the cluster must run the Ray the tests and the client use"
    assert (int(match["py"]), int(match["minor"])) == sys.version_info[:2]


def test_torch_is_pinned_to_the_tested_versions_and_installed():
    args = _assignments("ARG")
    assert args["TORCH_VERSION"] == version("torch").split("+")[0]
    assert args["TORCHVISION_VERSION"] == version("torchvision").split("+")[0]
    runs = [q.argv for i in _all("RUN") for q in commands_in_shell(i.arguments, f"line {i.line}")]
    assert any(argv[:2] == ("pip", "install") and "torch==${TORCH_VERSION}" in argv
               and "torchvision==${TORCHVISION_VERSION}" in argv for argv in runs)


def _mapped_package_folders() -> list[str]:
    """The folders setup.py maps into the naswot_ray namespace (cli/, analysis/), read without running it."""
    tree = ast.parse((REPO / "setup.py").read_text())
    mapped = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                  and any(getattr(t, "id", None) == "MAPPED" for t in node.targets))
    return list(ast.literal_eval(mapped).values())


def test_the_package_sources_are_copied_and_installed():
    copies = _copies()
    for sources, _ in copies:
        for source in sources:
            assert (REPO / source).exists(), f"COPY source {source} is not in the build context (the repo root)"
    destinations = {source: dest for sources, dest in copies for source in sources}
    src_dir = destinations["pyproject.toml"].rsplit("/", 1)[0]
    assert destinations.get("setup.py") == f"{src_dir}/", "setup.py (the package layout) must be copied next to pyproject.toml"
    packages = {"naswot_ray", *_mapped_package_folders()}
    for package in packages:
        assert destinations.get(package) == f"{src_dir}/{package}", f"package {package} is not copied next to pyproject.toml"
    runs = [q.argv for i in _all("RUN") for q in commands_in_shell(i.arguments, f"line {i.line}")]
    assert any(argv[:2] == ("pip", "install") and src_dir in argv for argv in runs), "the package is never pip-installed"
    assert ("naswot-ray", "--version") in runs, "the build should prove the console script works"


def test_no_entrypoint_and_a_real_default_command():
    assert not _all("ENTRYPOINT"), "the launcher's `docker run IMAGE bash` and KubeRay's command need no ENTRYPOINT"
    cmd = _all("CMD")
    assert len(cmd) == 1 and (exec_form(cmd[0].arguments) or [""])[0] == "naswot-ray"


def test_token_auth_on_and_no_secrets_baked_in():
    env = _assignments("ENV")
    assert env["RAY_AUTH_MODE"] == "token"
    names = [*env, *_assignments("ARG")]
    assert not [n for n in names if SECRET_NAME.search(n)], "credentials must reach nodes at run time, not via the image"
    sources = [s for sources, _ in _copies() for s in sources]
    assert not [s for s in sources if re.search(r"(\.ray|\.aws|\.ssh|auth_token|\.env$)", s)]


def test_configs_and_readme_name_one_image_the_one_this_file_builds():
    """All four configs and the how-to's build command name the same image, tagged with our version."""
    ours = PYPROJECT["project"]["version"]
    names = ["aws-gpu.yaml", "gcp-gpu.yaml", "kuberay/raycluster.yaml", "kuberay/rayjob.yaml", "README.md"]
    images = {name: set(re.findall(r"[\w.\-/:]*/naswot-ray:[\w.\-]+", (CLUSTER / name).read_text())) for name in names}
    assert all(images.values()), f"a file names no naswot-ray image: {images}"
    distinct = set().union(*images.values())
    assert len(distinct) == 1, f"the files name different images: {images}"
    assert distinct.pop().endswith(f"/naswot-ray:{ours}-gpu")


def test_readme_pins_the_ray_of_the_image():
    pins = set(re.findall(r"ray\[default\]==([\d.]+)", (CLUSTER / "README.md").read_text()))
    assert pins == {ray.__version__}
