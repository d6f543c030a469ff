"""Run every benchmark module and print its figures (``make bench``).

The registry at region scale runs on PostgreSQL (``BENCH_DATABASE``, by default the local
server); where none answers it is left out, and the reason is printed.
"""

import psycopg

from bench import esia, host_resolution, pages, registry_scale

for module in (host_resolution, esia, pages):
    print(f"== {module.__name__}", flush=True)
    module.main()

print("== bench.registry_scale", flush=True)
try:
    psycopg.connect(registry_scale.server_url(), connect_timeout=3).close()
except psycopg.OperationalError as error:
    print(f"left out: PostgreSQL at {registry_scale.SERVER} did not answer ({error})")
else:
    registry_scale.main()
