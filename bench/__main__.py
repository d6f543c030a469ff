"""Run every benchmark module and print its figures (``make bench``).

The registry, the audit log and the login statistics at region scale run on PostgreSQL
(``BENCH_DATABASE``, by default the local server); where none answers they are left out, and
the reason is printed.
"""

import psycopg

from bench import audit_scale, esia, host_resolution, pages, registry_scale, stats_scale

for module in (host_resolution, esia, pages):
    print(f"== {module.__name__}", flush=True)
    module.main()

for module in (registry_scale, audit_scale, stats_scale):
    print(f"== {module.__name__}", flush=True)
    try:
        psycopg.connect(registry_scale.server_url(), connect_timeout=3).close()
    except psycopg.OperationalError as error:
        print(f"left out: PostgreSQL at {registry_scale.SERVER} did not answer ({error})")
    else:
        module.main()
