"""The fleet's deployment files, validated offline: image, compose file, manifests.

Nothing here runs a container: Kubernetes manifests are checked against the API schemas
kubernetes-validate ships (pinned version, strict), the compose file against the compose
specification's schema that check-jsonschema ships, and the Dockerfile with hadolint.
Then the parts that tie them together are checked by reading them: the commands they
run exist in ``loadgate``, the workers find the master, and no secret is written down.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.33"
"""The Kubernetes API version the manifests must be valid for."""
SCENARIOS_IN_IMAGE = "/etc/loadgate/scenarios.yaml"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", re.IGNORECASE)
BIN = Path(sys.executable).parent

MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
APPLIED_AFTER_THE_RUN = {"results-reader.yaml"}


def documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def resource(kind: str, name: str) -> dict[str, Any]:
    for path in MANIFESTS:
        for doc in documents(path):
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
    raise LookupError(f"no {kind} {name} in {K8S}")


def container(kind: str, name: str) -> dict[str, Any]:
    (only,) = resource(kind, name)["spec"]["template"]["spec"]["containers"]
    return only


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    )
    return data


def dockerfile() -> DockerfileParser:
    # Given a file's path, the parser reads it (and writes nothing) when asked.
    return DockerfileParser(path=str(DEPLOY / "Dockerfile"))


def walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# Kubernetes.


def test_every_manifest_is_found() -> None:
    kinds = {doc["kind"] for path in MANIFESTS for doc in documents(path)}
    assert kinds == {
        "ConfigMap",
        "Deployment",
        "Job",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "Pod",
        "Service",
    }


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_manifest_is_valid_for_the_kubernetes_api(path: Path) -> None:
    for doc in documents(path):
        # strict: an unknown field (a typo) fails, as `kubectl apply` would.
        checked = kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert checked == KUBERNETES_VERSION


def test_kubernetes_validation_rejects_a_misspelt_field() -> None:
    worker = resource("Deployment", "loadgate-worker")
    broken = {**worker, "spec": {**worker["spec"], "replica": 3}}

    with pytest.raises(kubernetes_validate.ValidationError, match="'replica'"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_applies_every_manifest_but_the_results_reader() -> None:
    (kustomization,) = documents(K8S / "kustomization.yaml")

    listed = set(kustomization["resources"])

    assert listed == {p.name for p in MANIFESTS} - APPLIED_AFTER_THE_RUN
    assert [image["name"] for image in kustomization["images"]] == ["loadgate"]


def test_master_runs_once_and_waits_for_every_worker() -> None:
    job = resource("Job", "loadgate-master")
    args = container("Job", "loadgate-master")["args"]
    workers = resource("Deployment", "loadgate-worker")

    assert args[0] == "master"
    assert int(option(args, "--workers")) == workers["spec"]["replicas"] == 3
    # A retried or restarted master would be a second full load test.
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["activeDeadlineSeconds"] > 0
    assert option(args, "--bind-host") == "0.0.0.0"
    assert option(args, "--results") == "/results"


def test_workers_reach_the_master_through_its_service() -> None:
    service = resource("Service", "loadgate-master")
    master = container("Job", "loadgate-master")
    worker = container("Deployment", "loadgate-worker")
    job_labels = resource("Job", "loadgate-master")["spec"]["template"]["metadata"]
    (port,) = service["spec"]["ports"]
    (master_port,) = master["ports"]

    assert worker["args"][0] == "worker"
    assert option(worker["args"], "--master-host") == service["metadata"]["name"]
    assert int(option(worker["args"], "--master-port")) == port["port"] == 5557
    assert int(option(master["args"], "--master-port")) == master_port["containerPort"]
    assert port["targetPort"] == master_port["name"]
    assert service["spec"]["selector"].items() <= job_labels["labels"].items()


def test_only_workers_may_reach_the_master_port() -> None:
    policy = resource("NetworkPolicy", "loadgate-master")["spec"]
    worker_labels = resource("Deployment", "loadgate-worker")["spec"]["template"]
    master_labels = resource("Job", "loadgate-master")["spec"]["template"]
    (rule,) = policy["ingress"]
    (peer,) = rule["from"]

    assert policy["podSelector"]["matchLabels"] == master_labels["metadata"]["labels"]
    assert peer["podSelector"]["matchLabels"] == worker_labels["metadata"]["labels"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5557}]


def test_master_and_workers_run_the_same_scenario_from_the_image() -> None:
    master = container("Job", "loadgate-master")
    worker = container("Deployment", "loadgate-worker")
    settings = resource("ConfigMap", "loadgate-settings")["data"]

    for args in (master["args"], worker["args"]):
        assert option(args, "--scenario") == "$(LOADGATE_SCENARIO)"
        assert option(args, "--scenarios-file") == SCENARIOS_IN_IMAGE
    for env_from in (master["envFrom"], worker["envFrom"]):
        assert {"configMapRef": {"name": "loadgate-settings"}} in env_from
    assert settings["LOADGATE_SCENARIO"] == "staged"


def test_password_reaches_only_the_workers_through_a_secret() -> None:
    master = container("Job", "loadgate-master")
    worker = container("Deployment", "loadgate-worker")
    env = {item["name"]: item for item in worker["env"]}

    password = env["LOADGATE_TEST_PASSWORD"]
    assert "value" not in password
    assert password["valueFrom"]["secretKeyRef"] == {
        "name": "loadgate-cognito",
        "key": "test-password",
    }
    # The master never signs in: it gets no secret at all.
    assert not [node for node in walk(master) if "secretKeyRef" in node]
    assert not [node for node in walk(master) if "secretRef" in node]


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_no_secret_is_written_in_a_manifest(path: Path) -> None:
    for doc in documents(path):
        assert doc["kind"] != "Secret"
        if doc["kind"] == "ConfigMap":
            assert not [key for key in doc["data"] if SECRET_NAME.search(key)]
        for node in walk(doc):
            if SECRET_NAME.search(str(node.get("name", ""))):
                assert "value" not in node, node["name"]


def test_containers_run_without_privileges() -> None:
    for kind, name in (("Job", "loadgate-master"), ("Deployment", "loadgate-worker")):
        pod = resource(kind, name)["spec"]["template"]["spec"]
        (only,) = pod["containers"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        assert only["securityContext"]["allowPrivilegeEscalation"] is False
        assert only["securityContext"]["readOnlyRootFilesystem"] is True
        # One Locust process uses at most one core.
        assert only["resources"]["limits"]["cpu"] == "1"


# Compose.


def test_compose_file_follows_the_compose_specification() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(DEPLOY / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_runs_a_master_and_a_scalable_worker_service() -> None:
    services = compose()["services"]
    master, worker = services["master"]["command"], services["worker"]["command"]

    assert set(services) == {"master", "worker"}
    assert master[0] == "master" and worker[0] == "worker"
    assert option(worker, "--master-host") == "master"
    assert option(master, "--master-port") == option(worker, "--master-port")
    assert services["master"]["expose"] == [option(master, "--master-port")]
    # The master's port stays on the compose network: it has no authentication.
    assert "ports" not in services["master"]
    assert option(master, "--bind-host") == "0.0.0.0"
    assert option(master, "--workers") == "${LOADGATE_WORKERS:-2}"
    assert services["worker"]["deploy"]["replicas"] == "${LOADGATE_WORKERS:-2}"
    assert option(master, "--scenario") == option(worker, "--scenario")
    assert option(master, "--scenarios-file") == SCENARIOS_IN_IMAGE
    assert option(worker, "--scenarios-file") == SCENARIOS_IN_IMAGE
    assert services["master"]["image"] == services["worker"]["image"]
    assert services["master"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_compose_gives_the_password_to_workers_through_an_env_file() -> None:
    services = compose()["services"]

    assert services["master"]["env_file"] == ["loadgate.env"]
    assert services["worker"]["env_file"] == ["loadgate.env", "secrets.env"]
    for service in services.values():
        assert "environment" not in service


def test_env_file_templates_hold_no_secret_values() -> None:
    def entries(name: str) -> dict[str, str]:
        lines = (DEPLOY / name).read_text(encoding="utf-8").splitlines()
        pairs = [line.split("=", 1) for line in lines if "=" in line]
        return {key.lstrip("# "): value for key, value in pairs}

    settings, secrets = entries("loadgate.env.example"), entries("secrets.env.example")
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()

    assert not [key for key in settings if SECRET_NAME.search(key)]
    assert "LOADGATE_TEST_PASSWORD" in secrets
    assert all(value == "" for value in secrets.values()), secrets
    assert {"/loadgate.env", "/secrets.env"} <= set(ignored)


# The image.


def test_dockerfile_passes_hadolint() -> None:
    done = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr


def test_image_installs_loadgate_and_runs_it_as_a_user() -> None:
    parsed = dockerfile()
    runs = [i["value"] for i in parsed.structure if i["instruction"] == "RUN"]
    (user,) = [i["value"] for i in parsed.structure if i["instruction"] == "USER"]

    assert parsed.baseimage == "python:3.11-slim"
    assert any("pip install --no-cache-dir ." in run for run in runs)
    assert user.split(":")[0] not in ("root", "0")
    assert '["loadgate"]' in parsed.content.replace(" ", "")
    assert parsed.cmd == '["--help"]'


def test_image_holds_every_package_and_the_scenarios() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    parsed = dockerfile()
    copies = [
        i["value"].split() for i in parsed.structure if i["instruction"] == "COPY"
    ]
    sources = {source.rstrip("/") for *given, _ in copies for source in given}
    allowed = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    kept = {line[1:].rstrip("/") for line in allowed.splitlines() if line[:1] == "!"}

    # `pip install .` in the image fails on a package the image was not given.
    assert set(pyproject["tool"]["setuptools"]["packages"]) <= sources
    assert ["scenarios.yaml", SCENARIOS_IN_IMAGE] in copies
    assert sources <= kept
    for source in sources:
        assert (ROOT / source).exists(), source


# Every command the files run is one loadgate has.


@cache
def help_text(*command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "loadgate", *command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def make_dry_run(*args: str) -> list[str]:
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line.split() for line in done.stdout.splitlines()]
    (command,) = [line[1:] for line in lines if line and line[0].endswith("/loadgate")]
    return command


def deploy_commands() -> dict[str, list[str]]:
    services = compose()["services"]
    return {
        "dockerfile-cmd": ["--help"],
        "compose-master": services["master"]["command"],
        "compose-worker": services["worker"]["command"],
        "k8s-master": container("Job", "loadgate-master")["args"],
        "k8s-worker": container("Deployment", "loadgate-worker")["args"],
        "make-master": make_dry_run("master", "WORKERS=3", "HOST=http://127.0.0.1:9"),
        "make-worker": make_dry_run("worker", "MASTER_HOST=10.1.2.3"),
    }


COMMANDS = deploy_commands()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_uses_loadgate_subcommands_and_options_that_exist(name: str) -> None:
    command = COMMANDS[name]
    # `loadgate --help` lists the commands indented under "commands:".
    subcommands = re.findall(r"^    ([a-z]+)\s", help_text(), re.MULTILINE)
    assert "run" in subcommands

    if command == ["--help"]:
        return
    assert command[0] in subcommands
    known = set(re.findall(r"--[a-z][a-z-]+", help_text(command[0])))
    used = {arg for arg in command[1:] if arg.startswith("--")}
    assert used <= known, used - known


def test_make_targets_pass_the_fleet_settings_on() -> None:
    master = make_dry_run(
        "master", "WORKERS=3", "SCENARIO=demo", "BIND_HOST=0.0.0.0", "MASTER_PORT=6000"
    )
    worker = make_dry_run(
        "worker", "MASTER_HOST=10.1.2.3", "MASTER_PORT=6000", "SCENARIO=demo"
    )

    assert master[0] == "master" and worker[0] == "worker"
    assert option(master, "--workers") == "3"
    assert option(master, "--bind-host") == "0.0.0.0"
    assert option(master, "--master-port") == option(worker, "--master-port") == "6000"
    assert option(master, "--scenario") == option(worker, "--scenario") == "demo"
    assert option(worker, "--master-host") == "10.1.2.3"


def test_make_master_listens_on_this_machine_only_unless_told() -> None:
    master = make_dry_run("master")

    assert option(master, "--bind-host") == "127.0.0.1"
    assert option(master, "--master-port") == "5557"
