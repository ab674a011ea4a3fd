"""Runs INSIDE the Google Cloud SDK's own Python (not the project's venv).

Started by checks/consumers/gcloud.py and checks/consumers/yaml_versions.py as

    <sdk python> -I _sdk_helper.py <sdk root> <request.json> <answer.json>

so that arguments and YAML are judged by the code of the installed gcloud
itself: its calliope parser, its ArgDict type, its YAML wrapper and its bundled
ruamel.yaml. One process answers a whole batch (the SDK import costs ~0.4 s,
one parse afterwards ~5 ms).

Request ``{"op": ..., ...}``; answer: a JSON list, one entry per item.

- ``parse``: ``{"argvs": [[...], ...]}`` – each argv (without "gcloud") is
  parsed by the real gcloud CLI (``gcloud_main.CreateCLI([]).Execute``) up to
  the point where the command's ``Run`` would start; ``Run`` is replaced so
  nothing is executed. Entry: ``{"ok": true, "command": "gcloud.run.deploy",
  "args": {flag: value}}`` (``args.GetSpecifiedArgs()``) or ``{"ok": false,
  "code": 2, "output": "ERROR: ..."}``.
- ``argdict``: ``{"values": [...]}`` – each value through
  ``arg_parsers.ArgDict(key_type=EnvVarKeyType, value_type=EnvVarValueType)``,
  the type command_lib/run/flags.py gives ``--set-env-vars``.
- ``split_env``: ``{"values": [...], "argv_prefix": [...]}`` – both of the
  above for ``argv_prefix + ["--set-env-vars=" + value]``, so a caller can
  see that the CLI and the bare type agree.
- ``yaml``: ``{"texts": [...]}`` – each text read as ``gcloud run services
  replace FILE`` reads it (``googlecloudsdk.core.yaml.load_all`` with its
  default version, empty documents dropped), plus every scalar node typed by
  the same loader class and version (``scalars``), for line:column reports.

Only the standard library and the SDK are used here; Python 3.8 syntax.
"""

import contextlib
import inspect
import io
import json
import os
import sys
import tempfile
import warnings

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
from _typed import scalar_records, typed  # noqa: E402  (shared with yaml_versions.py)

sys.path.remove(_HERE)  # our gcloud.py must not shadow the SDK's lib/gcloud.py


def _setup(root):
    lib = os.path.join(root, "lib")
    sys.path.insert(0, lib)
    import gcloud as entry  # lib/gcloud.py: the path set-up gcloud itself does

    sys.path = entry.reorder_sys_path(sys.path)
    entry._fix_google_module()


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


@contextlib.contextmanager
def _captured_fds():
    """Send fd 1 and 2 to a temp file (gcloud's log handlers hold the real
    streams, so redirecting sys.stderr alone misses its ERROR lines)."""
    buf = tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(buf.fileno(), 1)
    os.dup2(buf.fileno(), 2)
    box = io.StringIO()
    try:
        yield box
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        buf.seek(0)
        box.write(buf.read().decode("utf-8", "replace"))
        buf.close()


class _Parsed(BaseException):  # not caught by calliope's `except Exception`
    pass


def op_parse(request):
    from googlecloudsdk import gcloud_main
    from googlecloudsdk.calliope import backend

    def run_instead(self, cli, args):  # replaces backend.Command.Run
        raise _Parsed(self.dotted_name, args.GetSpecifiedArgs())

    backend.Command.Run = run_instead
    with _captured_fds():
        cli = gcloud_main.CreateCLI([])
    answers = []
    for argv in request["argvs"]:
        entry = None
        with _captured_fds() as out:
            try:
                cli.Execute(list(argv))
                entry = {"ok": False, "code": 0, "output": ""}
            except _Parsed as parsed:
                command, args = parsed.args
                entry = {"ok": True, "command": command, "args": _jsonable(dict(args))}
            except SystemExit as exc:
                entry = {"ok": False, "code": exc.code}
            except BaseException as exc:  # gcloud re-raises handled errors
                entry = {"ok": False, "code": 1, "exception": type(exc).__name__ + ": " + str(exc)}
        if not entry["ok"]:
            entry["output"] = out.getvalue()
        answers.append(entry)
    return answers


def op_argdict(request):
    from googlecloudsdk.calliope import arg_parsers
    from googlecloudsdk.command_lib.functions.v2.deploy import env_vars_util

    parse = arg_parsers.ArgDict(key_type=env_vars_util.EnvVarKeyType, value_type=env_vars_util.EnvVarValueType)
    answers = []
    for value in request["values"]:
        try:
            answers.append({"ok": True, "env": [[k, v] for k, v in parse(value).items()]})
        except Exception as exc:  # ArgumentTypeError and friends
            answers.append({"ok": False, "error": str(exc)})
    return answers


def op_split_env(request):
    """Each value as `--set-env-vars=VALUE` of a real command line (CLI parse)
    and, as a cross-check, straight through the flag's ArgDict type."""
    prefix = list(request["argv_prefix"])
    flag = request.get("flag", "--set-env-vars")
    parsed = op_parse({"argvs": [prefix + [flag + "=" + v] for v in request["values"]]})
    direct = op_argdict(request)
    answers = []
    for cli, arg in zip(parsed, direct):
        if cli["ok"]:
            env = cli["args"].get(flag, {})
            answers.append(
                {
                    "ok": True,
                    "env": [[k, v] for k, v in env.items()],
                    "argdict": arg.get("env"),
                    "argdict_error": arg.get("error"),
                }
            )
        else:
            answers.append(
                {
                    "ok": False,
                    "output": cli.get("output", ""),
                    "code": cli.get("code"),
                    "argdict_error": arg.get("error"),
                }
            )
    return answers


def op_yaml(request):
    from googlecloudsdk.core import yaml as gyaml
    from ruamel import yaml as ryaml

    # The version gcloud's YAML wrapper uses when the caller passes none
    # (arg_parsers.YAMLFileContents passes none): read, not assumed.
    version = inspect.signature(gyaml.load_all).parameters["version"].default
    answers = []
    warnings.simplefilter("ignore")
    for text in request["texts"]:
        entry = {"version": version, "ruamel": ryaml.__version__}
        try:
            docs = [d for d in gyaml.load_all(text) if d is not None]
            entry["documents"] = [typed(d) for d in docs]
        except Exception as exc:
            entry["error"] = str(exc)
        try:
            # the loader class and version gcloud's yaml.load_all uses
            loader = ryaml.SafeLoader(text, version=version)
            roots = []
            while loader.check_node():
                roots.append(loader.get_node())
            entry["scalars"] = scalar_records(lambda n, loader=loader: loader.construct_object(n, deep=True), roots)
            loader.dispose()
        except Exception as exc:
            entry.setdefault("error", str(exc))
            entry["scalars"] = []
        answers.append(entry)
    return answers


def main(argv):
    root, request_path, answer_path = argv[1:4]
    _setup(root)
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    answers = {"parse": op_parse, "argdict": op_argdict, "split_env": op_split_env, "yaml": op_yaml}[request["op"]](
        request
    )
    with open(answer_path, "w", encoding="utf-8") as handle:
        json.dump(answers, handle)


if __name__ == "__main__":
    main(sys.argv)
