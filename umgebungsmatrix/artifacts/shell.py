"""Shell code of the deploy scripts and gcloud's list syntax, in one place.

gcloud splits list and dict flags (`--set-env-vars`, `--args`) on "," unless
the value starts with `^D^`, which makes D the delimiter (`gcloud topic
escaping`; googlecloudsdk.calliope.arg_parsers ArgList/ArgDict: split on the
delimiter only, each dict item cut at the first "="). CI values are unknown
when deploy.sh is generated, so ENV_VARS_BASH picks a free delimiter at run
time and stops with a German message when none is free. `split_list` and
`split_dict` are the same rules in Python for `make check`; the tests hold them
against gcloud's own parser (checks/consumers/gcloud.py).
"""

from __future__ import annotations

#: Candidates for gcloud's alternate delimiter, in order of preference.
ENV_DELIMITERS = ("|", "~", ";", "!", "*", "#", "@", "%", "+")

#: bash for deploy.sh: ``env_vars NAME=WERT ...`` sets ENV_VARS for
#: ``--set-env-vars "$ENV_VARS"`` (call it directly, not in $(...): command
#: substitution would drop trailing newlines of the last value).
ENV_VARS_BASH = (
    r"""
# Setzt ENV_VARS für `--set-env-vars "$ENV_VARS"` aus NAME=WERT-Paaren, mit
# gcloud-Trennzeichen-Syntax (`gcloud topic escaping`): "^T^NAME=WERT" T … –
# T ist das erste Zeichen aus der Liste, das in keinem Paar vorkommt, so
# kommen Kommas, =, Leerzeichen, $, Anführungszeichen und Zeilenumbrüche in
# CI-Werten unverändert bei gcloud an. Direkt aufrufen, nicht in $(…).
env_vars() {
  local t paar frei
  for t in '|' '~' ';' '!' '*' '#' '@' '%' '+'; do
    frei=1
    for paar in "$@"; do
      case $paar in *"$t"*) frei=0; break ;; esac
    done
    if [ "$frei" = 1 ]; then
      local IFS="$t"
      ENV_VARS="^$t^$*"
      return 0
    fi
  done
  echo "Kein Trennzeichen für --set-env-vars frei: jedes von | ~ ; ! * # @ % + kommt in einem Wert vor." >&2
  echo "Betroffene Variablen: ${*%%=*} – einen Wert ändern oder Trennzeichen ergänzen." >&2
  return 2
}
""".strip("\n")
    + "\n"
)


def split_list(value: str) -> list[str]:
    """gcloud's ArgList: `^D^a D b` splits on D, else on ","; empty value -> []."""
    if value.startswith("^") and value.find("^", 1) > 1:
        end = value.find("^", 1)
        delimiter, value = value[1:end], value[end + 1 :]
    else:
        delimiter = ","
    return value.split(delimiter) if value else []


def split_dict(value: str) -> dict[str, str]:
    """gcloud's ArgDict over split_list: each item NAME=VALUE, cut at the first "="."""
    out: dict[str, str] = {}
    for item in split_list(value):
        name, _, rest = item.partition("=")
        out[name] = rest
    return out


def join_list(values: list[str] | tuple[str, ...]) -> str:
    """A list flag value gcloud splits back into exactly `values` (generation time: values known)."""
    if not any("," in v for v in values):
        return ",".join(values)
    for delimiter in ENV_DELIMITERS:
        if not any(delimiter in v for v in values):
            return f"^{delimiter}^" + delimiter.join(values)
    raise ValueError("kein freies Trennzeichen für eine gcloud-Liste")
