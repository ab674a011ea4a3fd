"""The real compose stack in Docker: engine access, offline images, labelled runs.

- `engine`:       docker SDK client (German errors), compose CLI (v1 `docker-compose`, v2 `docker compose`),
                  `docker build` flavour (BuildKit when there is one)
- `images`:       offline images built locally (debootstrap base, content-hash cache), per-run pins, prune
- `run_override`: the per-run override (labels, health interval, schema mount) and throw-away env file
- `stack`:        one labelled compose run: up, wait healthy, containers/ports, exec, teardown; the sweep
- `commands`:     `umgebungsmatrix docker status|images|sweep`

The offline override file itself is an artifact (umgebungsmatrix.artifacts.offline_override).
"""
