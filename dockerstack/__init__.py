"""The real compose stack in Docker: engine detection, offline images, runs.

- `engine`:  docker engine and compose CLI (v1 `docker-compose`, v2 `docker compose`)
- `images`:  offline images built locally (debootstrap base, content-hash cache)
- `override`: the generated offline override compose file
- `stack`:   one labelled compose run: sweep, up, wait healthy, endpoints, teardown
"""
