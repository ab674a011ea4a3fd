"""Cloud Run manifests, deploy scripts, their offline validation and guardrails.

Every rule is shown to FAIL on an artifact broken for exactly that rule: the
checks read the rendered text, so the tests break the text (via YAML) and
run the real check functions on it.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, SEED_MATRIX, run_cli

import checks.cloudrun.consistency as cr
import checks.cloudrun.guardrails as gr
import checks.secret_scan as scan
from umgebungsmatrix.artifacts import cloudrun_manifests as cm
from umgebungsmatrix.artifacts import deploy_scripts as ds
from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.artifacts.yamltext import dump

LEITPLANKEN = ROOT / "docs" / "stages" / "leitplanken.md"
OWN_CHECKS = [
    cr.check_schema,
    cr.check_annotations,
    cr.check_field_rules,
    cr.check_deploy_commands,
    gr.migrations_only_local,
    gr.staging_only_env_vars,
    gr.secrets_pinned,
    gr.production_cloudsql_private,
    gr.queues_separate,
    gr.background_services,
    gr.production_ingress,
    scan.no_secret_values,
]


@pytest.fixture(scope="module")
def matrix(seed):
    """The facts of the frozen seed matrix (stages dev, staging, prod)."""
    return seed


@pytest.fixture(scope="module")
def artifacts(matrix) -> dict[str, str]:
    return dict(render_all(matrix))


def edit(artifacts: dict[str, str], path: str, change: Callable[[dict[str, Any]], None]) -> dict[str, str]:
    """Copy of the artifacts with one manifest changed (through YAML, header kept)."""
    data = yaml.safe_load(artifacts[path])
    change(data)
    out = dict(artifacts)
    out[path] = "# von Hand kaputt gemacht\n" + yaml.safe_dump(data, sort_keys=False)
    return out


def findings(check, matrix, artifacts) -> list:
    return check(matrix, artifacts)


def messages(found) -> str:
    return "\n".join(f.format() for f in found)


def container(data: dict[str, Any]) -> dict[str, Any]:
    if data["kind"] == "Job":
        return data["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
    return data["spec"]["template"]["spec"]["containers"][0]


def revision_annotations(data: dict[str, Any]) -> dict[str, Any]:
    return data["spec"]["template"]["metadata"]["annotations"]


# --- the generated files ---------------------------------------------------------


def test_generated_files_exist_for_every_cloud_service(matrix, artifacts) -> None:
    for stage in matrix.cloud_stages:
        for service in stage.resources:
            path = cm.manifest_path(stage, service)
            assert path in artifacts
            assert "nicht von Hand bearbeiten" in artifacts[path] and "make generate" in artifacts[path]
        assert ds.script_path(stage) in artifacts


def test_manifest_yaml_round_trips(matrix) -> None:
    tricky = {"a": ["-A", "--", "-", "0", "true", "x: y", "#", "${X}", "", "it's"], "b": {}, "c": [], "d": 3}
    assert yaml.safe_load(dump(tricky)) == tricky
    for stage in matrix.cloud_stages:
        for service in stage.resources:
            manifest = cm.manifest(stage, service)
            assert yaml.safe_load(dump(manifest)) == manifest


def test_generated_manifests_pass_every_check(matrix, artifacts) -> None:
    for check in OWN_CHECKS:
        assert check(matrix, artifacts) == [], check.__name__


def test_committed_files_equal_the_rendered_ones(live) -> None:
    for path, text in render_all(live).items():
        if path.startswith("cloudrun/"):
            assert (ROOT / path).read_text(encoding="utf-8") == text, f"{path}: make generate"


def test_manifests_carry_the_stage_facts(matrix, artifacts) -> None:
    staging, prod = matrix.stage("staging").model, matrix.stage("prod").model
    web_s = yaml.safe_load(artifacts[f"cloudrun/{staging.id}/web.yaml"])
    web_p = yaml.safe_load(artifacts[f"cloudrun/{prod.id}/web.yaml"])
    assert web_s["metadata"]["annotations"]["run.googleapis.com/ingress"] == staging.netz.ingress
    assert revision_annotations(web_s)["autoscaling.knative.dev/maxScale"] == str(staging.skalierung.max)
    assert "run.googleapis.com/cloudsql-instances" in revision_annotations(web_s)
    assert "run.googleapis.com/cloudsql-instances" not in revision_annotations(web_p)
    assert revision_annotations(web_p)["run.googleapis.com/vpc-access-egress"] == prod.netz.vpc_egress
    assert web_p["metadata"]["annotations"]["run.googleapis.com/ingress"] == prod.netz.web_ingress
    assert int(revision_annotations(web_p)["autoscaling.knative.dev/minScale"]) > 0
    percents = sorted(t["percent"] for t in web_p["spec"]["traffic"])
    assert percents == sorted([prod.canary.stabil_prozent, prod.canary.canary_prozent])
    env_p = {e["name"]: e for e in container(web_p)["env"]}
    for name, version in prod.secrets.versionen.items():
        if name in env_p:
            assert env_p[name]["valueFrom"]["secretKeyRef"]["key"] == str(version)
    sample = {e["name"]: e.get("value") for e in container(web_s)["env"]}
    assert str(staging.langfuse.sampling_prozent / 100) in sample.values()
    beat_p = yaml.safe_load(artifacts[f"cloudrun/{prod.id}/beat.yaml"])
    assert revision_annotations(beat_p)["autoscaling.knative.dev/minScale"] == "1"
    assert revision_annotations(beat_p)["autoscaling.knative.dev/maxScale"] == "1"
    assert revision_annotations(beat_p)["run.googleapis.com/cpu-throttling"] == "false"


# --- schema and field rules fail on broken manifests ----------------------------------

STAGING_WEB = "cloudrun/staging/web.yaml"
PROD_WEB = "cloudrun/prod/web.yaml"
PROD_WORKER = "cloudrun/prod/worker.yaml"
STAGING_WORKER = "cloudrun/staging/worker.yaml"


def _unknown_field(d):
    container(d)["containerport"] = 8000


def _non_string_annotation(d):
    revision_annotations(d)["autoscaling.knative.dev/maxScale"] = 3


def _wrong_level(d):
    revision_annotations(d)["run.googleapis.com/ingress"] = "all"


def _min_gt_max(d):
    revision_annotations(d).update({"autoscaling.knative.dev/minScale": "5", "autoscaling.knative.dev/maxScale": "2"})


def _traffic_not_100(d):
    d["spec"]["traffic"][0]["percent"] = 80


def _reserved_env(d):
    container(d)["env"].append({"name": "PORT", "value": "9000"})


BROKEN = [
    ("unbekanntes Feld", PROD_WEB, _unknown_field, cr.check_schema, "cloudrun-schema", "containerport"),
    ("Annotation kein Text", PROD_WEB, _non_string_annotation, cr.check_schema, "cloudrun-schema", "erwartet Text"),
    (
        "Annotation falsche Ebene",
        STAGING_WEB,
        _wrong_level,
        cr.check_annotations,
        "cloudrun-annotationen",
        "Cloud Run liest sie nur in",
    ),
    ("minScale > maxScale", PROD_WEB, _min_gt_max, cr.check_field_rules, "cloudrun-skalierung", "größer als"),
    ("Traffic nicht 100", PROD_WEB, _traffic_not_100, cr.check_field_rules, "cloudrun-traffic", "nicht 100 %"),
    ("reservierter Name", PROD_WEB, _reserved_env, cr.check_field_rules, "cloudrun-env", "reserviert"),
]


@pytest.mark.parametrize("label,path,change,check,rule,text", BROKEN, ids=[b[0] for b in BROKEN])
def test_schema_and_field_rules_fail(matrix, artifacts, label, path, change, check, rule, text) -> None:
    found = check(matrix, edit(artifacts, path, change))
    assert found, f"{label}: keine Meldung"
    assert {f.rule for f in found} == {rule}, messages(found)
    assert text in messages(found)
    assert all(re.match(rf"{re.escape(path)}:\d+$", f.where) for f in found), messages(found)


# --- guardrails fail on broken manifests -----------------------------------------------


def _secret_ref_in_staging(d):
    env = container(d)["env"]
    env[0] = {"name": env[0]["name"], "valueFrom": {"secretKeyRef": {"name": "x", "key": "1"}}}


def _plain_secret_in_prod(d):
    env = container(d)["env"]
    first = next(e for e in env if "valueFrom" in e)
    first.pop("valueFrom")
    first["value"] = "postgresql://nutzer:geheim@10.0.0.5/db"


def _latest_in_prod(d):
    next(e for e in container(d)["env"] if "valueFrom" in e)["valueFrom"]["secretKeyRef"]["key"] = "latest"


def _public_sql_in_prod(d):
    revision_annotations(d)["run.googleapis.com/cloudsql-instances"] = "p:r:i"


def _both_queues(matrix):
    both = ",".join(matrix.queue_names)

    def change(d):
        args = container(d)["args"]
        args[args.index("--queues") + 1] = both

    return change


def _auto_migrate(matrix):
    switch = next(k.migrations_env for k in matrix.matrix.dienstarten.values() if k.migrations_env)

    def change(d):
        container(d)["env"].append({"name": switch, "value": "true"})

    return change


def _throttled_worker(d):
    revision_annotations(d)["run.googleapis.com/cpu-throttling"] = "true"


def _public_web_prod(d):
    d["metadata"]["annotations"]["run.googleapis.com/ingress"] = "all"


GUARDRAILS = [
    (
        "secretKeyRef in Staging",
        STAGING_WEB,
        lambda m: _secret_ref_in_staging,
        gr.staging_only_env_vars,
        "staging-nur-env-vars",
    ),
    ("Klartext-Secret in Prod", PROD_WEB, lambda m: _plain_secret_in_prod, gr.secrets_pinned, "prod-secrets-gepinnt"),
    ("latest in Prod", PROD_WEB, lambda m: _latest_in_prod, gr.secrets_pinned, "prod-secrets-gepinnt"),
    (
        "Public Cloud SQL in Prod",
        PROD_WEB,
        lambda m: _public_sql_in_prod,
        gr.production_cloudsql_private,
        "prod-cloudsql-privat",
    ),
    ("Worker mit beiden Queues", PROD_WORKER, _both_queues, gr.queues_separate, "queues-getrennt"),
    ("Auto-Migration in der Cloud", STAGING_WEB, _auto_migrate, gr.migrations_only_local, "migration-nur-lokal"),
    (
        "Worker mit CPU-Drosselung",
        STAGING_WORKER,
        lambda m: _throttled_worker,
        gr.background_services,
        "hintergrunddienste",
    ),
    ("Prod-Web öffentlich", PROD_WEB, lambda m: _public_web_prod, gr.production_ingress, "prod-ingress"),
]


@pytest.mark.parametrize("label,path,make,check,rule", GUARDRAILS, ids=[g[0] for g in GUARDRAILS])
def test_guardrails_fail(matrix, artifacts, label, path, make, check, rule) -> None:
    found = check(matrix, edit(artifacts, path, make(matrix)))
    assert found, f"{label}: keine Meldung"
    assert {f.rule for f in found} == {rule}, messages(found)
    assert all(f.doc == f"stages/leitplanken.md#{rule}" for f in found)
    assert all(f.where.startswith(path) for f in found), messages(found)


def test_plain_secret_in_prod_is_also_a_secret_leak(matrix, artifacts) -> None:
    found = scan.no_secret_values(matrix, edit(artifacts, PROD_WEB, _plain_secret_in_prod))
    assert found and {f.rule for f in found} == {scan.RULE}
    assert "geheim:" not in messages(found), "der Wert selbst darf nie in der Meldung stehen"


@pytest.mark.parametrize(
    "text",
    [
        "{name}=ein-echter-wert-123\n",
        "environment:\n  {name}: ein-echter-wert-123\n",
        'gcloud run deploy x --set-env-vars "A=1,{name}=ein-echter-wert-123"\n',
    ],
)
def test_secret_literal_in_a_generated_file_fails(matrix, artifacts, text) -> None:
    name = matrix.secret_names()[0]
    broken = dict(artifacts)
    broken["compose/beispiel.yml" if "environment" in text else "cloudrun/staging/extra.sh"] = text.format(name=name)
    found = scan.no_secret_values(matrix, broken)
    assert len(found) == 1 and found[0].rule == scan.RULE, messages(found)
    assert "ein-echter-wert" not in messages(found)


@pytest.mark.parametrize("value", ["", "${{{name}}}", "${{{name}:?fehlt}}"])
def test_secret_names_and_references_are_allowed(matrix, artifacts, value) -> None:
    name = matrix.secret_names()[0]
    broken = dict(artifacts)
    broken["cloudrun/staging/extra.sh"] = f"{name}={value.format(name=name)}\n# {name}=kommentar\n"
    assert scan.no_secret_values(matrix, broken) == []


def test_values_of_the_local_env_file_must_not_reach_artifacts_or_site(matrix, artifacts, tmp_path, monkeypatch):
    env_file = matrix.compose_stage.env_file
    name = matrix.secret_names()[0]
    value = "s3cr3t-aus-der-env-datei"
    (tmp_path / env_file).write_text(f"# lokal\n{name}='{value}'\n", encoding="utf-8")
    (tmp_path / "site" / "seite").mkdir(parents=True)
    (tmp_path / "site" / "seite" / "index.html").write_text(f"<p>\n{value}</p>", encoding="utf-8")
    monkeypatch.setattr(scan, "ROOT", tmp_path)
    found = scan.no_secret_values(matrix, artifacts)
    assert [f.where for f in found] == ["site/seite/index.html:2"], messages(found)
    assert value not in messages(found)
    leaked = dict(artifacts, **{"cloudrun/prod/web.yaml": artifacts[PROD_WEB] + f"# {value}\n"})
    assert any(f.where.startswith(PROD_WEB) for f in scan.no_secret_values(matrix, leaked))


# --- deploy commands versus manifests ----------------------------------------------------


def test_dropped_variable_in_deploy_command_fails(matrix, artifacts) -> None:
    stage = matrix.stage("staging")
    path = ds.script_path(stage)
    dropped = next(e.name for e in stage.services[0].env if not e.secret)
    broken = dict(artifacts)
    lines = artifacts[path].split("\n")
    first = next(i for i, line in enumerate(lines) if line.strip().lstrip("'\"").startswith(f"{dropped}="))
    broken[path] = "\n".join(lines[:first] + lines[first + 1 :])
    found = cr.check_deploy_commands(matrix, broken)
    assert found and all(f.rule == "deploy-befehle" for f in found)
    assert f"lässt {dropped} weg" in messages(found)


def test_changed_limit_in_manifest_only_fails(matrix, artifacts) -> None:
    found = cr.check_deploy_commands(matrix, edit(artifacts, STAGING_WEB, _min_gt_max))
    assert "--max-instances" in messages(found) and "--min-instances" in messages(found)


def test_manifest_without_replace_in_prod_fails(matrix, artifacts) -> None:
    path = ds.script_path(matrix.stage("prod"))
    broken = dict(artifacts, **{path: artifacts[path].replace("render worker.yaml worker", "render wrker.yaml worker")})
    text = messages(cr.check_deploy_commands(matrix, broken))
    assert "worker.yaml wird von keinem" in text and "wrker.yaml" in text


def _fake_gcloud(tmp_path: Path) -> tuple[dict[str, str], Path]:
    bin_dir, log = tmp_path / "bin", tmp_path / "gcloud.log"
    bin_dir.mkdir()
    fake = bin_dir / "gcloud"
    fake.write_text(
        '#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "$GCLOUD_LOG"\nfor a in "$@"; do\n'
        '  if [ -f "$a" ]; then cat "$a" >> "$GCLOUD_LOG"; fi\ndone\n',
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "GCLOUD_LOG": str(log), "HOME": str(tmp_path)}
    return env, log


def test_staging_script_runs_with_ci_variables_and_refuses_without(matrix, artifacts, tmp_path) -> None:
    stage = matrix.stage("staging")
    env, log = _fake_gcloud(tmp_path)
    names = {n for s in stage.resources for n in s.secret_names}
    ci = {n: f"wert-{n.lower()}" for n in names} | {matrix.platform.artefakte.tag_variable: "abc123"}
    script = tmp_path / "deploy.sh"
    script.write_text(artifacts[ds.script_path(stage)], encoding="utf-8")
    done = subprocess.run(["bash", str(script)], env=env | ci, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    deployed = [line.split()[2 if line.startswith("run deploy") else 3] for line in calls if " deploy " in line]
    assert deployed == [s.name for s in stage.resources if not s.optional]
    assert all("--set-env-vars" in line for line in calls if " deploy " in line)
    assert "wert-" in log.read_text() and "abc123" in log.read_text()

    missing = dict(ci)
    missing.pop(sorted(names)[0])
    refused = subprocess.run(
        ["bash", str(script), "web", "worker", "litellm"], env=env | missing, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "fehlt" in refused.stderr
    unknown = subprocess.run(["bash", str(script), "gibtsnicht"], env=env | ci, capture_output=True, text=True)
    assert unknown.returncode == 2 and "Unbekanntes Ziel" in unknown.stderr
    helped = subprocess.run(["bash", str(script), "--help"], env=env, capture_output=True, text=True)
    assert helped.returncode == 0 and "Aufruf:" in helped.stdout and not log.read_text().count("--help")


def test_prod_script_substitutes_only_the_image_tags(matrix, artifacts, tmp_path) -> None:
    stage = matrix.stage("prod")
    env, log = _fake_gcloud(tmp_path)
    tags = {n: f"t{i}" for i, n in enumerate(stage.tag_variables)}
    folder = tmp_path / "cloudrun" / stage.id
    folder.mkdir(parents=True)
    for path, text in artifacts.items():
        if path.startswith(f"cloudrun/{stage.id}/"):
            (folder / path.rsplit("/", 1)[1]).write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["bash", str(folder / "deploy.sh")], env=env | tags, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    applied = log.read_text()
    assert applied.count(" replace ") == len(stage.resources)
    assert "${" not in applied, "alle Platzhalter ersetzt"
    for tag in tags.values():
        assert f"-{tag}" in applied


# --- one fact, every file ---------------------------------------------------------------------


@pytest.mark.live
def test_one_changed_fact_changes_table_compose_and_manifests_together(repo_copy: Path) -> None:
    path = repo_copy / "matrix" / "umgebungen.yaml"
    path.write_text(SEED_MATRIX.read_text(encoding="utf-8"), encoding="utf-8")
    assert run_cli(repo_copy, "generate").returncode == 0
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    old_queue = data["plattform"]["queues"]["einlesen"]["name"]
    prod = next(s for s in data["stages"] if s["id"] == "prod")
    staging = next(s for s in data["stages"] if s["id"] == "staging")
    new_queue, new_batch, new_max = "einlesen-neu", 640, staging["skalierung"]["max"] + 2
    data["plattform"]["queues"]["einlesen"]["name"] = new_queue
    prod["einlesen"]["batch_groesse"] = new_batch
    staging["skalierung"]["max"] = new_max
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    assert run_cli(repo_copy, "check").returncode == 1, "Drift muss auffallen"
    generated = run_cli(repo_copy, "generate")
    assert generated.returncode == 0, generated.stdout + generated.stderr

    worker_s = (repo_copy / "cloudrun/staging/worker.yaml").read_text()
    worker_p = (repo_copy / "cloudrun/prod/worker.yaml").read_text()
    script_s = (repo_copy / "cloudrun/staging/deploy.sh").read_text()
    assert new_queue in worker_s and new_queue in worker_p and old_queue not in worker_p
    assert f"maxScale: '{new_max}'" in worker_s and f"--max-instances {new_max}" in script_s
    assert f"value: '{new_batch}'" in worker_p
    assert new_queue in (repo_copy / "compose" / "docker-compose.yml").read_text()
    assert new_queue in (repo_copy / "docs" / "stages" / "staging.md").read_text()

    from conftest import facts_of

    from macros.site import table_markdown

    table = table_markdown(facts_of(path))
    assert new_queue in table and str(new_batch) in table and f"max {new_max}" in table

    rechecked = run_cli(repo_copy, "check")
    assert rechecked.returncode == 0, rechecked.stdout + rechecked.stderr


# --- docs ------------------------------------------------------------------------------


def test_every_finding_links_an_existing_section(matrix, artifacts) -> None:
    anchors = set(re.findall(r"\{ #([a-z0-9-]+) \}", LEITPLANKEN.read_text(encoding="utf-8")))
    broken = edit(
        artifacts,
        PROD_WEB,
        lambda d: (_plain_secret_in_prod(d), _public_sql_in_prod(d), _traffic_not_100(d), _unknown_field(d)),
    )
    docs = {f.doc for check in OWN_CHECKS for f in check(matrix, broken)}
    assert len(docs) >= 4
    for doc in docs:
        page, anchor = doc.split("#")
        assert page == "stages/leitplanken.md" and anchor in anchors, doc


def test_hand_written_stage_pages_type_no_fact(live) -> None:
    from test_docs_facts import fact_literals, typed_facts

    from umgebungsmatrix.artifacts import GENERATED_MARK

    facts = fact_literals(live.matrix)
    for page in sorted((ROOT / "docs" / "stages").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if GENERATED_MARK not in text:
            assert typed_facts(text, facts) == [], page.name
