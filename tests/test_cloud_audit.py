"""cloud-diff and cloud-check: the live cloud against the matrix, read-only.

Exports are built from the generated manifests plus what Cloud Run adds (generation, uid,
creator/operation annotations, default concurrency, timeout, resource limits, status): no drift.
Then each drift kind on its own, with its path. Every gcloud call the commands make passes the
real gcloud's argument parsing offline.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

from checks.cloud import audit, diff
from checks.cloud import gcloud as cloud_gcloud

TAG, STABLE = "v1.4.2", "Release_2024.01"
NUMBERS = {"rag-plattform-prod": "104857600123", "rag-plattform-staging": "987654321098"}


def server_view(kind: str, data: dict) -> dict:
    """A manifest as `gcloud run … describe --format export` shows it after Cloud Run accepted it."""
    live = copy.deepcopy(data)
    meta = live.setdefault("metadata", {})
    meta.update(
        namespace=NUMBERS.get(meta.get("namespace"), meta.get("namespace")),  # exports name the project by number
        generation=7,
        uid="2f3c7c1e-8d9a-4a4e-9a51-0c6f1f4f1a11",
        resourceVersion="AAYb1c2d3e4",
        creationTimestamp="2026-11-01T08:00:00.000000Z",
        selfLink=f"/apis/serving.knative.dev/v1/namespaces/123/services/{meta['name']}",
    )
    meta.setdefault("annotations", {}).update(
        {
            "serving.knative.dev/creator": "ci@rag-plattform.iam.gserviceaccount.com",
            "serving.knative.dev/lastModifier": "ci@rag-plattform.iam.gserviceaccount.com",
            "run.googleapis.com/operation-id": "3b1e9f0a-5c1d-4c8e-bb0b-1f2e3d4c5b6a",
            "run.googleapis.com/client-name": "gcloud",
            "run.googleapis.com/client-version": "528.0.0",
        }
    )
    if kind == "Service":
        template = live["spec"]["template"]
        template.setdefault("metadata", {}).setdefault("annotations", {})["run.googleapis.com/client-name"] = "gcloud"
        spec = template["spec"]
        spec.setdefault("containerConcurrency", 80)
        spec.setdefault("timeoutSeconds", 300)
        for container in spec["containers"]:
            container.setdefault("resources", {"limits": {"cpu": "1000m", "memory": "512Mi"}})
            container.setdefault(
                "startupProbe", {"tcpSocket": {"port": 8080}, "timeoutSeconds": 240, "periodSeconds": 240}
            )
        live["status"] = {"observedGeneration": 7, "conditions": [{"type": "Ready", "status": "True"}]}
    else:
        task = live["spec"]["template"]["spec"]["template"]["spec"]
        task.setdefault("maxRetries", 3)
        task.setdefault("timeoutSeconds", "600")
        for container in task["containers"]:
            container.setdefault("resources", {"limits": {"cpu": "1000m", "memory": "512Mi"}})
    return live


def write_exports(folder: Path, stage, want: dict, skip: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (kind, data) in want.items():
        if name not in skip:
            (folder / f"{name}.yaml").write_text(
                yaml.safe_dump(server_view(kind, data), sort_keys=False), encoding="utf-8"
            )
    return folder


@pytest.fixture()
def prod(live):
    stage = live.stage("prod")
    want = diff.expected(stage, diff.tag_values(stage, TAG, STABLE))
    return stage, want


def live_of(want: dict, change=None) -> diff.Live:
    resources = {name: (kind, server_view(kind, data)) for name, (kind, data) in want.items()}
    if change:
        change(resources)
    return diff.Live(resources, "Test")


def test_exports_of_the_manifests_plus_server_fields_are_no_drift(prod):
    stage, want = prod
    assert diff.differences(stage, want, live_of(want)) == []


def _web(resources):
    return resources["web"][1]["spec"]["template"]


def _env(resources, name="web"):
    return resources[name][1]["spec"]["template"]["spec"]["containers"][0]["env"]


DRIFTS = [
    (
        "max-instanzen",
        lambda r: _web(r)["metadata"]["annotations"].update({"autoscaling.knative.dev/maxScale": "20"}),
        "web: spec.template.metadata.annotations[autoscaling.knative.dev/maxScale]: Soll 10, Ist 20",
    ),
    (
        "image",
        lambda r: _web(r)["spec"]["containers"][0].update(
            image="europe-west3-docker.pkg.dev/rag-plattform/container/web:v9"
        ),
        "web: spec.template.spec.containers[web].image: Soll europe-west3-docker.pkg.dev/rag-plattform/container/web:v1.4.2, Ist",
    ),
    (
        "env-neu",
        lambda r: _env(r).append({"name": "DEBUG", "value": "1"}),
        "web: spec.template.spec.containers[web].env[DEBUG]: Soll fehlt",
    ),
    ("env-weg", lambda r: _env(r).pop(), "web: spec.template.spec.containers[web].env[AUTO_MIGRATE]: Soll"),
    (
        "env-anders",
        lambda r: next(e for e in _env(r) if e["name"] == "LANGFUSE_SAMPLE_RATE").update(value="1.0"),
        "web: spec.template.spec.containers[web].env[LANGFUSE_SAMPLE_RATE].value: Soll 0.05, Ist 1.0",
    ),
    (
        "secret-version",
        lambda r: next(e for e in _env(r) if e["name"] == "DATABASE_URL")["valueFrom"]["secretKeyRef"].update(
            key="latest"
        ),
        "web: spec.template.spec.containers[web].env[DATABASE_URL].valueFrom.secretKeyRef.key: Soll 3, Ist latest",
    ),
    (
        "ingress",
        lambda r: r["web"][1]["metadata"]["annotations"].update({"run.googleapis.com/ingress": "all"}),
        "web: metadata.annotations[run.googleapis.com/ingress]: Soll internal-and-cloud-load-balancing, Ist all",
    ),
    (
        "traffic",
        lambda r: r["web"][1]["spec"]["traffic"][0].update(percent=50),
        "web: spec.traffic[stabil].percent: Soll 90, Ist 50",
    ),
    (
        "vpc-connector",
        lambda r: r["worker"][1]["spec"]["template"]["metadata"]["annotations"].update(
            {"run.googleapis.com/vpc-access-connector": "anderer-connector"}
        ),
        "worker: spec.template.metadata.annotations[run.googleapis.com/vpc-access-connector]: Soll prod-vpc-connector, Ist anderer-connector",
    ),
    (
        "dienstkonto",
        lambda r: r["litellm"][1]["spec"]["template"]["spec"].update(
            serviceAccountName="default@x.iam.gserviceaccount.com"
        ),
        "litellm: spec.template.spec.serviceAccountName: Soll plattform-run@rag-plattform-prod.iam.gserviceaccount.com, Ist default",
    ),
    ("fehlt-live", lambda r: r.pop("worker"), "worker: Soll Service ausgerollt, Ist fehlt live"),
    (
        "anderes-projekt",
        lambda r: r["beat"][1]["metadata"].update(namespace="111111111111"),
        "beat: metadata.namespace: Soll rag-plattform-prod, Ist 111111111111",
    ),
    (
        "traffic-getauscht-und-geändert",
        lambda r: (
            r["web"][1]["spec"].update(traffic=list(reversed(r["web"][1]["spec"]["traffic"])))
            or r["web"][1]["spec"]["traffic"][1].update(percent=95)
        ),
        "web: spec.traffic[stabil].percent: Soll 90, Ist 95",
    ),
    (
        "unbekannt",
        lambda r: r.update(fremd=("Service", {"metadata": {"name": "fremd"}})),
        "fremd: Soll nicht in der Matrix, Ist live ein Service",
    ),
]


@pytest.mark.parametrize("name,change,expected", DRIFTS, ids=[d[0] for d in DRIFTS])
def test_each_drift_kind_is_found_with_its_path(prod, name, change, expected):
    stage, want = prod
    found = [d.format() for d in diff.differences(stage, want, live_of(want, change))]
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_an_optional_service_not_deployed_is_no_drift(prod):
    stage, want = prod
    optional = [s.name for s in stage.resources if s.optional]
    assert optional
    assert diff.differences(stage, want, live_of(want, lambda r: [r.pop(n) for n in optional])) == []


def test_staging_ci_variables_must_be_present_but_any_value_matches(live):
    stage = live.stage("staging")
    want = diff.expected(stage, diff.tag_values(stage, TAG, None))

    def secret_values(resources):
        for env in _env(resources):
            if env["name"] == "DATABASE_URL":
                env["value"] = "postgresql://echt:geheim@10.0.0.3/plattform"

    assert diff.differences(stage, want, live_of(want, secret_values)) == []

    def dropped(resources):
        resources["web"][1]["spec"]["template"]["spec"]["containers"][0]["env"] = [
            e for e in _env(resources) if e["name"] != "REDIS_URL"
        ]

    found = [d.format() for d in diff.differences(stage, want, live_of(want, dropped))]
    assert found == [
        "web: spec.template.spec.containers[web].env[REDIS_URL]: Soll "
        + json.dumps({"name": "REDIS_URL", "value": "${REDIS_URL}"}, sort_keys=True)
        + ", Ist fehlt"
    ]


# --- the command --------------------------------------------------------------------------------


def test_cli_exit_0_on_exports_then_1_with_field_and_variable_named(code_copy, prod, tmp_path):
    stage, want = prod
    folder = write_exports(tmp_path / "exporte", stage, want)
    ok = run_cli(
        code_copy,
        "cloud-diff",
        "--stage",
        "prod",
        "--export-dir",
        str(folder),
        "--image-tag",
        TAG,
        "--stabil-tag",
        STABLE,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    web = yaml.safe_load((folder / "web.yaml").read_text(encoding="utf-8"))
    web["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/minScale"] = "1"
    web["spec"]["template"]["spec"]["containers"][0]["env"] = [
        e for e in web["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] != "EMBEDDING_DIMENSION"
    ]
    (folder / "web.yaml").write_text(yaml.safe_dump(web), encoding="utf-8")
    bad = run_cli(
        code_copy,
        "cloud-diff",
        "--stage",
        "prod",
        "--export-dir",
        str(folder),
        "--image-tag",
        TAG,
        "--stabil-tag",
        STABLE,
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "web: spec.template.metadata.annotations[autoscaling.knative.dev/minScale]: Soll 2, Ist 1" in bad.stdout
    assert "env[EMBEDDING_DIMENSION]" in bad.stdout and "Ist fehlt" in bad.stdout


def test_image_tag_from_the_environment(code_copy, prod, tmp_path):
    stage, want = prod
    folder = write_exports(tmp_path / "exporte", stage, want)
    import subprocess
    import sys

    from conftest import env_for

    done = subprocess.run(
        [sys.executable, "-m", "umgebungsmatrix", "cloud-diff", "--stage", "prod", "--export-dir", str(folder)],
        cwd=code_copy,
        env={**env_for(code_copy), "IMAGE_TAG": TAG, "STABIL_IMAGE_TAG": STABLE},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


BAD_INPUT = [
    (
        "andere-art",
        lambda f: (f / "web.yaml").write_text((f / "migrate.yaml").read_text().replace("name: migrate", "name: web")),
        "live ein Job, laut Matrix ein Service",
    ),
    (
        "keine-cloud-run-ressource",
        lambda f: (f / "web.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"),
        "Deployment (apps/v1) ist keine Cloud-Run-Ressource",
    ),
    ("kein-yaml", lambda f: (f / "web.yaml").write_text("metadata: [\n  name: web\n"), "web.yaml:"),
    ("falscher-dateiname", lambda f: (f / "web.yaml").rename(f / "web-alt.yaml"), "metadata.name ist „web“"),
    ("steuerzeichen", lambda f: (f / "web.yaml").write_bytes(b"a: \x01b\n"), "web.yaml: kein gültiges YAML"),
    (
        "metadata-text",
        lambda f: (f / "web.yaml").write_text("apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: web\n"),
        "metadata.name fehlt",
    ),
    (
        "doppelter-schlüssel",
        lambda f: (f / "web.yaml").write_text((f / "web.yaml").read_text() + "kind: Service\n"),
        "Schlüssel „kind“ steht doppelt",
    ),
    ("endung-yml", lambda f: (f / "web.yaml").rename(f / "web.yml"), "web.yml – Exporte heißen <name>.yaml"),
    ("kein-utf8", lambda f: (f / "web.yaml").write_bytes(b"kind: \xff\n"), "nicht lesbar (kein UTF-8"),
    ("ordner", lambda f: (f / "extra.yaml").mkdir(), "extra.yaml: keine lesbare Datei"),
]


@pytest.mark.parametrize("name,breaker,message", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_exits_2_in_german(code_copy, prod, tmp_path, name, breaker, message):
    stage, want = prod
    folder = write_exports(tmp_path / "exporte", stage, want)
    breaker(folder)
    done = run_cli(code_copy, "cloud-diff", "--stage", "prod", "--export-dir", str(folder), "--image-tag", TAG)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (("--stage", "dev", "--image-tag", TAG), "läuft nicht in Cloud Run"),
        (("--stage", "produktion", "--image-tag", TAG), "unbekannte Stage „produktion“"),
        (("--stage", "prod"), "--image-tag TAG oder Umgebungsvariable IMAGE_TAG"),
        (("--stage", "prod", "--image-tag", "v1/kaputt"), "IMAGE_TAG:"),
    ],
)
def test_wrong_stage_or_tag_exits_2(code_copy, args, message):
    done = run_cli(code_copy, "cloud-diff", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


# --- read-only, and the real gcloud takes every call ---------------------------------------------


def all_calls(live) -> list[list[str]]:
    calls = []
    for stage in live.cloud_stages:
        calls += diff.gcloud_calls(stage)
        calls += [diff.describe_call(stage, "jobs" if s.is_job else "services", s.name) for s in stage.resources]
        calls += [p.argv for p in audit.probes(live, stage)]
    return calls


def test_every_call_is_read_only_and_writes_are_refused(live):
    for argv in all_calls(live):
        cloud_gcloud.read_only(argv)
    for argv in (
        ["gcloud", "run", "services", "delete", "web"],
        ["gcloud", "run", "services", "delete", "web", "--region", "list"],
        ["gcloud", "run", "services", "update", "web", "--description", "describe"],
        ["gcloud", "run", "services", "add-iam-policy-binding", "web", "--member", "allUsers"],
        ["gcloud", "sql", "instances", "patch", "x", "--enable-point-in-time-recovery"],
        ["bash", "-c", "gcloud run services describe web"],
    ):
        with pytest.raises(cloud_gcloud.NotReadOnly):
            cloud_gcloud.read_only(argv)


@pytest.mark.live
def test_the_real_gcloud_accepts_every_call(live):
    from checks.consumers import gcloud as g

    if g.skip_reason():
        pytest.skip(g.skip_reason())
    calls = all_calls(live)
    results = g.run_many(calls)
    rejected = [r.explain() for r in results if not r.accepted]
    assert not rejected, rejected
    assert len(results) == len(calls) >= 20


# --- cloud-check --------------------------------------------------------------------------------


def answers(live, stage, change=None) -> dict[str, dict]:
    """What a stage that matches the matrix answers, keyed by the resource name of each probe."""
    out = {}
    for probe in audit.probes(live, stage):
        if probe.resource == "Cloud-SQL-Instanz":
            data = {
                "databaseVersion": f"POSTGRES_{live.platform.postgres.version}",
                "settings": {
                    "ipConfiguration": {
                        "ipv4Enabled": stage.public_cloudsql,
                        "privateNetwork": "projects/x/global/networks/vpc",
                    },
                    "backupConfiguration": {"pointInTimeRecoveryEnabled": stage.model.datenbank.pitr},
                },
            }
        elif probe.resource == "Memorystore":
            data = {"redisVersion": f"REDIS_{live.platform.redis.version}_X", "state": "READY"}
        elif probe.resource == "VPC-Connector":
            data = {"state": "READY"}
        elif probe.resource.startswith("Secret"):
            data = {"state": "ENABLED"}
        elif probe.resource == "Dienstkonto":
            data = {"email": probe.name}
        elif probe.resource == "Artifact Registry":
            data = {"format": "DOCKER"}
        else:
            service = stage.resource(probe.name)
            members = [i.member for i in service.access.invokers]
            if service.access.qa_window is not None:
                members.append("allUsers")
            data = {"bindings": [{"role": "roles/run.invoker", "members": members}] if members else []}
        out[" ".join(probe.argv)] = data
    if change:
        change(out)
    return out


def runner(table: dict[str, dict], missing: tuple[str, ...] = ()):
    def run(argv):
        key = " ".join(argv)
        cloud_gcloud.read_only(argv)
        if any(m in key for m in missing):
            raise cloud_gcloud.GcloudFailed("kein Zugriff", "ERROR: (gcloud) NOT_FOUND: resource not found")
        return json.dumps(table[key])

    return run


def test_cloud_check_matches_a_stage_that_follows_the_matrix(live):
    prod = live.stage("prod")
    results = audit.audit(live, prod, runner(answers(live, prod)))
    assert results and all(r.ok for r in results), [(r.probe.name, r.problems) for r in results if not r.ok]
    columns = {r.probe.column for r in results}
    assert {"datenbanken", "netz", "secrets", "container", "ingress"} <= columns


def test_cloud_check_finds_what_differs(live):
    prod = live.stage("prod")

    def change(out):
        for key, data in out.items():
            if " sql instances describe " in f" {key} ":
                data["settings"]["ipConfiguration"]["ipv4Enabled"] = True
                data["settings"]["backupConfiguration"]["pointInTimeRecoveryEnabled"] = False
            if key.startswith("gcloud run services get-iam-policy web "):
                data["bindings"][0]["members"].append("allUsers")
            if key.startswith("gcloud run services get-iam-policy worker "):
                data["bindings"] = [{"role": "roles/run.invoker", "members": ["user:jemand@example.com"]}]

    results = audit.audit(live, prod, runner(answers(live, prod, change), missing=("vpc-access",)))
    problems = {r.probe.name: r.problems for r in results if not r.ok}
    sql = problems[prod.network.cloudsql_instanz]
    assert any("Public IP an" in p for p in sql) and any("PITR aus" in p for p in sql)
    assert problems["web"] == ["öffentlich (allUsers), die Matrix erlaubt das nicht"]
    assert problems["worker"] == ["unerwarteter Aufrufer user:jemand@example.com"]
    assert problems[prod.network.vpc_connector] == ["fehlt"]
    text = audit.table(live, results)
    assert "| Datenbanken | Cloud-SQL-Instanz |" in text and "✗" in text


def test_cloud_check_refuses_a_stage_without_cloud_run(code_copy):
    done = run_cli(code_copy, "cloud-check", "--stage", "dev")
    assert done.returncode == 2 and "läuft nicht in Cloud Run" in done.stderr


@pytest.mark.live
def test_cloud_check_without_access_exits_2_with_gclouds_reason(code_copy, tmp_path):
    import shutil
    import subprocess
    import sys

    from conftest import env_for

    from checks.consumers import gcloud as g

    if g.skip_reason() or shutil.which("gcloud") is None:
        pytest.skip(g.skip_reason() or "gcloud nicht im PATH")
    env = {**env_for(code_copy), "CLOUDSDK_CONFIG": str(tmp_path), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
    done = subprocess.run(
        [*g.isolated(), sys.executable, "-m", "umgebungsmatrix", "cloud-check", "--stage", "prod"],
        cwd=code_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "kein Zugriff auf die Cloud" in done.stderr and "active account" in done.stderr


def test_odd_env_names_are_drift_not_a_crash(prod):
    stage, want = prod

    def odd(resources):
        _env(resources).append({"name": ["a"], "value": "x"})

    found = [d.format() for d in diff.differences(stage, want, live_of(want, odd))]
    assert found and all(f.startswith("web: spec.template.spec.containers[web].env") for f in found), found


def test_garbage_from_gcloud_is_exit_2_not_a_traceback(live):
    stage = live.stage("prod")

    def garbage(argv):
        return "web\n" if "list" in argv else "a: [b"

    with pytest.raises(diff.InputError, match="kein gültiges YAML"):
        diff.from_gcloud(stage, garbage)


@pytest.mark.parametrize(
    "answer,problem",
    [
        ({"bindings": ["x"]}, "nicht die Form einer IAM-Richtlinie"),
        ({"bindings": {"a": 1}}, "nicht die Form einer IAM-Richtlinie"),
        ({"bindings": [{"role": "roles/run.invoker", "members": "allUsers"}]}, "nicht die Form einer IAM-Richtlinie"),
        ({}, "fehlt"),
    ],
)
def test_odd_iam_answers_are_findings(live, answer, problem):
    prod = live.stage("prod")
    table = answers(live, prod)
    key = next(k for k in table if k.startswith("gcloud run services get-iam-policy web "))
    table[key] = answer
    results = {
        r.probe.name: r for r in audit.audit(live, prod, runner(table)) if r.probe.resource.startswith("Aufrufer")
    }
    assert any(problem in p for p in results["web"].problems), results["web"].problems


def test_missing_fields_read_unknown_not_none(live):
    prod = live.stage("prod")
    table = answers(live, prod)
    key = next(k for k in table if " sql instances describe " in f" {k} ")
    table[key] = {}
    sql = next(r for r in audit.audit(live, prod, runner(table)) if r.probe.resource == "Cloud-SQL-Instanz")
    assert "Version unbekannt, Matrix: POSTGRES_16" in sql.problems and not any("None" in p for p in sql.problems)
