"""Reference web and worker of the platform (stdlib + celery + psycopg).

Facts (port, health path, env names, schema file) come from the generated
module `plattform.fakten`, which `make generate` renders from the matrix.
"""
