"""Who may invoke each Cloud Run service (matrix `zugriff`): guardrails, deploy.sh, the real gcloud."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import DOCS, MATRIX, ROOT, run_cli

from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.artifacts.deploy_scripts import script_path
from umgebungsmatrix.facts import build, warnings
from umgebungsmatrix.matrix import MatrixError, load_string

LIVE_TEXT = (ROOT / "matrix" / "umgebungen.yaml").read_text(encoding="utf-8")
STAGING_WEB = """      web:
        aufrufer:
          - {mitglied: "group:plattform-admins@example.com", anzeige: Admin}
"""
WINDOW = '        qa_fenster: {von: "2026-11-20", bis: "2026-12-15", verantwortlich: qa-lead@example.com}\n'


def _replace(text: str, old: str, new: str, occurrence: int = 1) -> str:
    assert text.count(old) >= occurrence, old
    head, *rest = text.split(old)
    return old.join([head, *rest[: occurrence - 1]]) + new + old.join(rest[occurrence - 1 :])


def errors(text: str) -> list[str]:
    try:
        build(load_string(text, MATRIX, DOCS))
    except MatrixError as exc:
        assert "Traceback" not in str(exc)
        return str(exc).splitlines()
    return []


def facts_for(text: str):
    return build(load_string(text, MATRIX, DOCS))


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[occurrence - 1]


# --- guardrails in validate --------------------------------------------------------------------

PROD_ZUGRIFF = "      web:\n        aufrufer:\n          # Der Load Balancer"


def _prod_web_public(text: str) -> str:
    new = "      web:\n        authentifizierung: false\n        aufrufer:\n          # Der Load Balancer"
    return _replace(text, PROD_ZUGRIFF, new)


def _public_worker(text: str) -> str:
    return _replace(
        text,
        "    zugriff:\n      web:\n",
        "    zugriff:\n      worker:\n        authentifizierung: false\n      web:\n",
    )


def _long_window(text: str) -> str:
    return _replace(text, 'von: "2026-11-20", bis: "2026-12-15"', 'von: "2026-11-20", bis: "2027-02-17"')


def _window_on_prod(text: str) -> str:
    return _replace(text, PROD_ZUGRIFF, "      web:\n" + WINDOW + "        aufrufer:\n          # Der Load Balancer")


def _public_job(text: str) -> str:
    return _replace(text, "    zugriff:\n      web:\n", "    zugriff:\n      migrate:\n" + WINDOW + "      web:\n")


def _all_users_invoker(text: str) -> str:
    return _replace(
        text, '{mitglied: "group:plattform-admins@example.com", anzeige: Admin}', "{mitglied: allUsers, anzeige: Alle}"
    )


def _internal_public(text: str) -> str:
    # Staging with ingress internal: the QA window would contradict it
    return _replace(text, "      ingress: all\n", "      ingress: internal\n")


def _iap_without_number(text: str) -> str:
    return _replace(text, '      projektnummer: "104857600123"\n', "")


def _unknown_service(text: str) -> str:
    return _replace(text, "      litellm:\n        aufrufer:", "      litelm:\n        aufrufer:")


def _bad_member(text: str) -> str:
    return _replace(text, '"group:plattform-admins@example.com"', '"plattform-admins@example.com"')


def _window_backwards(text: str) -> str:
    return _replace(text, 'von: "2026-11-20", bis: "2026-12-15"', 'von: "2026-12-20", bis: "2026-12-15"')


# (id, breaker, (text on the reported line, its occurrence), message)
GUARDRAILS = [
    (
        "prod-web-oeffentlich",
        _prod_web_public,
        ("authentifizierung: false", 1),
        "in Produktion ist kein Dienst öffentlich",
    ),
    ("worker-oeffentlich", _public_worker, ("authentifizierung: false", 1), "nie öffentlich aufrufbar"),
    ("fenster-90-tage", _long_window, ('bis: "2027-02-17"', 1), "höchstens 30 Tage, von und bis mitgezählt (hier 90)"),
    ("fenster-auf-prod", _window_on_prod, ("qa_fenster:", 2), "in Produktion ist kein Dienst öffentlich"),
    ("job-oeffentlich", _public_job, ("qa_fenster:", 1), "nie öffentlich aufrufbar"),
    ("allusers-als-aufrufer", _all_users_invoker, ("mitglied: allUsers", 1), "allUsers ist kein Aufrufer"),
    ("intern-und-oeffentlich", _internal_public, ("qa_fenster:", 1), "ingress internal"),
    ("iap-ohne-projektnummer", _iap_without_number, ("mitglied: iap", 1), "iap braucht die Projektnummer"),
    ("unbekannter-dienst", _unknown_service, ("litelm:", 1), "unbekannter Dienst „litelm“ (meinten Sie „litellm“?)"),
    ("kein-iam-mitglied", _bad_member, ('"plattform-admins@example.com"', 1), "ist kein IAM-Mitglied"),
    ("fenster-rueckwaerts", _window_backwards, ('bis: "2026-12-15"', 1), "endet vor seinem Beginn"),
]


@pytest.mark.parametrize("name,breaker,spot,message", GUARDRAILS, ids=[g[0] for g in GUARDRAILS])
def test_access_guardrail_refuses_with_matrix_line(name, breaker, spot, message):
    """A failing fixture per guardrail: a located German error on the line that breaks it."""
    text = breaker(LIVE_TEXT)
    hits = [line for line in errors(text) if message in line]
    assert len(hits) == 1, (name, errors(text))
    assert hits[0].startswith(f"matrix/umgebungen.yaml:{line_of(text, *spot)}:"), (name, hits)


def test_validate_exits_2_on_public_prod_web(code_copy: Path):
    matrix = code_copy / "matrix" / "umgebungen.yaml"
    matrix.write_text(_prod_web_public(matrix.read_text(encoding="utf-8")), encoding="utf-8")
    result = run_cli(code_copy, "validate")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "in Produktion ist kein Dienst öffentlich aufrufbar (web)" in result.stderr
    assert "Traceback" not in result.stderr


def test_ended_window_warns_with_the_matrix_line(code_copy: Path):
    matrix = code_copy / "matrix" / "umgebungen.yaml"
    text = _replace(
        matrix.read_text(encoding="utf-8"),
        'von: "2026-11-20", bis: "2026-12-15"',
        'von: "2020-01-01", bis: "2020-01-10"',
    )
    matrix.write_text(text, encoding="utf-8")
    result = run_cli(code_copy, "validate")
    assert result.returncode == 0, result.stderr
    line = line_of(text, 'bis: "2020-01-10"')
    assert re.search(
        rf"^Warnung: matrix/umgebungen\.yaml:{line}:\d+: QA-Fenster von staging/web ist seit 2020-01-10 abgelaufen",
        result.stderr,
        re.M,
    ), result.stderr


def test_warnings_follow_the_date(live):
    import datetime as dt

    window = next(s for st in live.cloud_stages for s in st.resources if s.access.qa_window).access.qa_window
    assert warnings(live, window.bis) == []
    assert len(warnings(live, window.bis + dt.timedelta(days=1))) == 1


def test_table_ingress_cells_render_from_access(live):
    from umgebungsmatrix.facts import cell

    staging = live.stage("staging")
    assert cell(live, staging, "ingress") == "Cloud Run URL (authentifiziert für Admin), temporär öffentlich für QA"
    prod = live.stage("prod")
    assert (
        cell(live, prod, "ingress")
        == "Interne Cloud Run URLs; externer Zugriff nur via HTTPS Load Balancer & Managed SSL"
    )
    without = facts_for(_replace(LIVE_TEXT, WINDOW, ""))
    assert cell(without, without.stage("staging"), "ingress") == "Cloud Run URL (authentifiziert für Admin)"


# --- deploy.sh ----------------------------------------------------------------------------------


def _deploys(text: str) -> list[str]:
    """Each `gcloud run deploy …` command of a script, continuation lines joined."""
    return [m.group(0) for m in re.finditer(r"gcloud run deploy (?:[^\n]*\\\n)*[^\n]*", text)]


def test_every_deploy_states_its_authentication(live):
    rendered = render_all(live)
    for stage in live.cloud_stages:
        text = rendered[script_path(stage)]
        for command in _deploys(text):
            flags = re.findall(r"--(?:no-)?allow-unauthenticated\b", command)
            assert len(flags) == 1, command
        if stage.production:
            assert "--allow-unauthenticated" not in text
            assert "--member allUsers" not in text and "--member allAuthenticatedUsers" not in text
        for service in stage.resources:
            noun = "jobs" if service.is_job else "services"
            if service.access.authenticated:
                assert f"nicht_oeffentlich {noun} {service.name}" in text
            for invoker in service.access.invokers:
                assert f"--member {invoker.member}" in text


def _script_breakers(stage_id: str):
    return [
        ("ohne-flag", lambda t: t.replace("  --no-allow-unauthenticated \\\n", "", 1)),
        ("oeffentlich-flag", lambda t: t.replace("--no-allow-unauthenticated", "--allow-unauthenticated")),
        (
            "ohne-nicht-oeffentlich",
            lambda t: re.sub(r"^ *nicht_oeffentlich services worker\n", "", t, count=1, flags=re.M),
        ),
        (
            "ohne-aufrufer",
            lambda t: t.replace("--member group:plattform-admins@example.com", "--member group:andere@example.com"),
        ),
    ]


@pytest.mark.parametrize("case", ["ohne-flag", "oeffentlich-flag", "ohne-nicht-oeffentlich", "ohne-aufrufer"])
def test_access_check_fails_on_a_hand_broken_script(live, case):
    from checks.cloudrun.guardrails import access

    rendered = dict(render_all(live))
    assert access(live, rendered) == []
    path = script_path(live.stage("staging"))
    breaker = dict(_script_breakers("staging"))[case]
    broken = breaker(rendered[path])
    assert broken != rendered[path]
    found = access(live, {**rendered, path: broken})
    assert found and all(f.rule == "zugriff" and f.where.startswith(path) for f in found), found


def test_prod_all_users_binding_is_refused(live):
    from checks.cloudrun.guardrails import access

    rendered = dict(render_all(live))
    path = script_path(live.stage("prod"))
    broken = rendered[path].replace(
        "--member serviceAccount:service-104857600123@gcp-sa-iap.iam.gserviceaccount.com", "--member allUsers"
    )
    found = access(live, {**rendered, path: broken})
    assert any("allUsers als Aufrufer" in f.message for f in found), found


# --- the real gcloud, with the clock inside and after the QA window -------------------------------

POLICY_PUBLIC = "group:plattform-admins@example.com\nallUsers\nallAuthenticatedUsers\n"


@pytest.fixture(scope="module")
def staging_folder(live, tmp_path_factory):
    from checks.consumers import gcloud as g

    if g.skip_reason():
        pytest.skip(g.skip_reason())
    rendered = render_all(live)
    stage = live.stage("staging")
    folder = tmp_path_factory.mktemp("staging")
    for path, text in rendered.items():
        if path.startswith(f"cloudrun/{stage.id}/"):
            (folder / path.rsplit("/", 1)[1]).write_text(text, encoding="utf-8")
    env = {n: f"wert-{n.lower()}" for n in stage.secret_variables} | {"IMAGE_TAG": "v1.4.2"}
    return folder / "deploy.sh", env, stage


def _run(staging_folder, today: str):
    from checks.consumers import gcloud as g

    script, env, _stage = staging_folder
    return g.run_script_offline(script, env, ["web"], today=today, responses={"get-iam-policy": POLICY_PUBLIC})


def _summary(run) -> list[str]:
    out = []
    for call in run.calls:
        argv = list(call.argv)
        if "deploy" in argv:
            out.append("deploy " + next(a for a in argv if a.endswith("allow-unauthenticated")))
        elif "add-iam-policy-binding" in argv or "remove-iam-policy-binding" in argv:
            verb = "add" if "add-iam-policy-binding" in argv else "remove"
            out.append(f"{verb} {argv[argv.index('--member') + 1]}")
        elif "get-iam-policy" in argv:
            out.append("get")
    return out


@pytest.mark.live
def test_inside_the_window_web_is_public_and_nothing_is_removed(staging_folder):
    window = staging_folder[2].resource("web").access.qa_window
    for day in (window.von, window.bis):
        run = _run(staging_folder, day.isoformat())
        assert run.returncode == 0, run.stderr
        assert not run.rejected(), [c.explain() for c in run.rejected()]
        assert _summary(run) == ["deploy --allow-unauthenticated", "add group:plattform-admins@example.com"], day


@pytest.mark.live
def test_after_the_window_the_public_bindings_go(staging_folder):
    import datetime as dt

    window = staging_folder[2].resource("web").access.qa_window
    for day in (window.bis + dt.timedelta(days=1), window.von - dt.timedelta(days=1)):
        run = _run(staging_folder, day.isoformat())
        assert run.returncode == 0, run.stderr
        assert not run.rejected(), [c.explain() for c in run.rejected()]
        assert _summary(run) == [
            "deploy --no-allow-unauthenticated",
            "add group:plattform-admins@example.com",
            "get",
            "remove allUsers",
            "remove allAuthenticatedUsers",
        ], day
        assert "Öffentlicher Aufrufer allUsers von web entfernt" in run.stderr


@pytest.mark.live
def test_a_private_service_without_public_bindings_removes_nothing(live, staging_folder):
    from checks.consumers import gcloud as g

    script, env, _stage = staging_folder
    run = g.run_script_offline(
        script, env, ["worker"], today="2026-12-01", responses={"get-iam-policy": "group:x@example.com\n"}
    )
    assert run.returncode == 0 and not run.rejected(), run.stderr
    assert _summary(run) == ["deploy --no-allow-unauthenticated", "get"]


@pytest.mark.parametrize(
    "written,message",
    [
        ('von: 2026-11-20, bis: "2026-12-15"', 'Datum in Anführungszeichen schreiben: "2026-11-20"'),
        ('von: "2026-02-30", bis: "2026-12-15"', "„2026-02-30“ ist kein Kalenderdatum"),
        ('von: "20.11.2026", bis: "2026-12-15"', "„20.11.2026“ ist kein Kalenderdatum"),
        ('von: 20261120, bis: "2026-12-15"', "gefunden die Zahl „20261120“"),
    ],
)
def test_dates_of_the_window_get_german_advice(written, message):
    text = _replace(LIVE_TEXT, 'von: "2026-11-20", bis: "2026-12-15"', written)
    found = [line for line in errors(text) if message in line]
    assert len(found) == 1, errors(text)
    assert found[0].startswith(f"matrix/umgebungen.yaml:{line_of(text, 'qa_fenster:')}:")
    assert "Input should" not in "\n".join(errors(text))


@pytest.mark.parametrize(
    "member", ["user:foo", "user:a@b", "user:ä@b.de", "user:a`id`@b.de", "user:a@b.de|x", "group:x"]
)
def test_members_that_gcloud_would_refuse_are_refused(member):
    text = _replace(LIVE_TEXT, '"group:plattform-admins@example.com"', f'"{member}"')
    assert any("ist kein IAM-Mitglied" in line for line in errors(text)), errors(text)
