"""Every naswot-ray and ray command quoted in cluster/ is one the real CLIs accept.

The finder and checker live in quoted_commands.py. The last tests feed them deliberately broken
text, to show that an invented option, subcommand or value in the how-to really fails.
"""

from __future__ import annotations

import pytest

from tests.cluster.quoted_commands import (
    CHECKED_PROGRAMS,
    CLUSTER,
    REPO,
    CommandError,
    Quoted,
    check,
    cluster_files,
    commands_in_dockerfile,
    commands_in_file,
    commands_in_markdown,
    commands_in_shell,
    commands_in_yaml,
    dry_run_score_all,
    needs_cluster_files,
    option_mentions,
    simple_commands,
    unknown_option_mentions,
    unwrap,
)

README = CLUSTER / "README.md"
QUOTED = [q for path in cluster_files() for q in commands_in_file(path)]
CHECKED = [q for q in QUOTED if q.program in CHECKED_PROGRAMS]
SCORE_ALL = [q for q in CHECKED if q.program == "naswot-ray" and q.complete and q.argv[1:2] == ("score-all",)
             and "--help" not in q.argv and "-h" not in q.argv]


def _id(quoted: Quoted) -> str:
    return f"{quoted.source}:{' '.join(quoted.argv[:3])}"


# -- the real files -----------------------------------------------------------------------------

def test_every_cluster_file_is_searched_and_quotes_naswot_ray():
    files = {str(p.relative_to(REPO)) for p in cluster_files()}
    assert {"cluster/README.md", "cluster/aws-gpu.yaml", "cluster/gcp-gpu.yaml", "cluster/Dockerfile",
            "cluster/kuberay/raycluster.yaml", "cluster/kuberay/rayjob.yaml"} <= files
    for name in files:
        naswot = [q for q in CHECKED if q.source.startswith(name + ":") and q.program == "naswot-ray"]
        assert naswot, f"no naswot-ray command found in {name}: the finder misses this file's format"


@pytest.mark.parametrize("quoted", CHECKED, ids=_id)
def test_quoted_command_is_accepted_by_the_real_cli(quoted):
    check(quoted)


@pytest.mark.parametrize("quoted", SCORE_ALL, ids=_id)
def test_quoted_score_all_passes_validation_and_joins_the_cluster(quoted):
    """Beyond parsing: the command's own validation passes, and it joins the cluster it runs on.

    Without --address, score-all would start a private single-node Ray on the head and leave every
    GPU worker idle, so every score-all quoted for a cluster must say --address auto.
    """
    ctx = check(quoted)
    assert ctx is not None and ctx.params["address"] == "auto", f"{quoted}\n  needs --address auto"
    if needs_cluster_files(quoted.argv):
        pytest.skip("names files that exist only on the cluster; parsed and name-checked above")
    job = dry_run_score_all(quoted.argv)
    assert job.address == "auto"
    assert job.store == ctx.params["store"]


def test_readme_options_named_on_their_own_exist():
    mentions = option_mentions(README.read_text(), "cluster/README.md")
    assert mentions, "the how-to names no option on its own; the finder is broken"
    unknown = unknown_option_mentions(README.read_text(), "cluster/README.md")
    assert not unknown, "options named in cluster/README.md that no naswot-ray command has:\n" + "\n".join(unknown)


def test_repository_paths_in_commands_exist():
    paths = {w for q in QUOTED for w in q.argv if w.startswith("cluster/")}
    assert "cluster/aws-gpu.yaml" in paths and "cluster/kuberay/rayjob.yaml" in paths
    missing = sorted(p for p in paths if not (REPO / p).exists())
    assert not missing, f"commands name files that do not exist: {missing}"


def test_readme_walks_through_every_step():
    """The how-to covers the path from zero to a running job and back (the issue's checklist)."""
    words = [" ".join(q.argv) for q in QUOTED if q.source.startswith("cluster/README.md:") and q.complete]
    steps = {
        "install": "pip install .",
        "token": "ray get-auth-token --generate",
        "cluster up": "ray up -y cluster/aws-gpu.yaml",
        "dashboard": "ray dashboard cluster/aws-gpu.yaml",
        "attach": "ray attach cluster/aws-gpu.yaml",
        "submit": "ray job submit --address http://127.0.0.1:8265",
        "score on the cluster": "naswot-ray score-all --space nds_pnas",
        "read the results": "naswot-ray export --store s3://",
        "kuberay operator": "helm install kuberay-operator",
        "kuberay cluster": "kubectl apply -f cluster/kuberay/raycluster.yaml",
        "kuberay job": "kubectl apply -f cluster/kuberay/rayjob.yaml",
        "tear down": "ray down -y cluster/aws-gpu.yaml",
    }
    missing = [step for step, start in steps.items() if not any(w.startswith(start) for w in words)]
    assert not missing, f"cluster/README.md lacks the commands for: {missing}"
    text = README.read_text()
    for needle in ("sampler-<run>", "scorer-<i>-<run>", "ray.util.metrics", "--retry-errors", "RAY_AUTH_MODE=token"):
        assert needle in text


# -- the splitter -------------------------------------------------------------------------------

def test_simple_commands_split_like_a_shell():
    line = "ulimit -n 65536; RAY_AUTH_MODE=token ray start --head 2>&1 > /tmp/log && naswot-ray --version | tee x"
    commands = [unwrap(c) for c in simple_commands(line)]
    assert commands == [["ulimit", "-n", "65536"], ["ray", "start", "--head"], ["naswot-ray", "--version"], ["tee", "x"]]


def test_nested_commands_are_found():
    found = commands_in_shell(
        "ray job submit --address http://127.0.0.1:8265 -- naswot-ray score-all --space nb201 --address auto", "x")
    assert [q.argv[:2] for q in found] == [("ray", "job"), ("naswot-ray", "score-all")]
    found = commands_in_shell("timeout 60 bash -c 'naswot-ray spaces'", "x")
    assert ("naswot-ray", "spaces") in [q.argv for q in found]
    found = commands_in_shell("ray exec cluster/aws-gpu.yaml \"naswot-ray metrics\"", "x")
    assert ("naswot-ray", "metrics") in [q.argv for q in found]


def test_yaml_names_are_not_commands_but_container_argv_is():
    text = "metadata:\n  name: naswot-ray\nspec:\n  command: [naswot-ray]\n  args: [score-all, --bogus]\n"
    found = [q for q in commands_in_yaml(text, "x.yaml") if q.program == "naswot-ray"]
    assert [q.argv for q in found] == [("naswot-ray", "score-all", "--bogus")]


# -- broken text must fail ----------------------------------------------------------------------

def _failures(quoted: list[Quoted]) -> list[str]:
    failures = []
    for q in quoted:
        if q.program in CHECKED_PROGRAMS:
            try:
                check(q)
            except CommandError as exc:
                failures.append(str(exc))
    return failures


@pytest.mark.parametrize("addition, culprit", [
    ("```bash\nnaswot-ray score-all --space nb201 --address auto --resume-from-scratch\n```", "--resume-from-scratch"),
    ("Then run `naswot-ray score-all --space nb201 --shards 4`.", "--shards"),
    ("```bash\nray job submit --address http://127.0.0.1:8265 -- \\\n  naswot-ray score-all --gpu 1\n```", "--gpu"),
    ("```bash\nnaswot-ray score-everything --space nb201\n```", "score-everything"),
    ("```bash\nnaswot-ray score-all --space nb201 --limit many\n```", "many"),
    ("```bash\nnaswot-ray score-all --space nb999 --address auto\n```", "nb999"),
    ("```bash\nnaswot-ray score-all --metrics naswot,zenn --address auto\n```", "zenn"),
    ("```bash\nray up --yes-please cluster/aws-gpu.yaml\n```", "--yes-please"),
])
def test_an_invented_command_in_the_readme_fails(addition, culprit):
    text = README.read_text() + "\n" + addition + "\n"
    failures = _failures(commands_in_markdown(text, "cluster/README.md"))
    assert len(failures) == 1 and culprit in failures[0], failures


def test_an_invented_option_named_in_readme_prose_fails():
    text = README.read_text() + "\nResume with `--resume` or pass --shard-count to split the run.\n"
    unknown = {mention.split(": ")[1] for mention in unknown_option_mentions(text, "README")}
    assert unknown == {"--resume", "--shard-count"}


def test_an_invented_option_in_a_manifest_or_the_dockerfile_fails():
    rayjob = (CLUSTER / "kuberay" / "rayjob.yaml").read_text()
    assert "--no-progress" in rayjob
    broken = commands_in_yaml(rayjob.replace("--no-progress", "--quiet"), "rayjob.yaml")
    assert any("--quiet" in f for f in _failures(broken))
    dockerfile = (CLUSTER / "Dockerfile").read_text()
    broken = commands_in_dockerfile(dockerfile.replace('"--help"]', '"--usage"]'), "Dockerfile")
    assert any("--usage" in f for f in _failures(broken))


def test_the_dry_run_applies_score_all_validation():
    with pytest.raises(CommandError, match="0 is out of range; expected an integer >= 1"):
        dry_run_score_all(("naswot-ray", "score-all", "--space", "nds_pnas", "--limit", "0", "--address", "auto"))
    headline = dry_run_score_all(("naswot-ray", "score-all", "--space", "nds_pnas", "--address", "auto",
                                  "--store", "s3://b/p"))
    assert len(headline.requested_indices()) == 5000  # a sampled NDS space covers one NDS sweep's size
    job = dry_run_score_all(("naswot-ray", "score-all", "--space", "nb201", "--limit", "10", "--address", "auto"))
    assert (job.space, job.limit, job.address) == ("nb201", 10, "auto")
