"""Run every benchmark module and print its figures (``make bench``)."""

from bench import esia, host_resolution, pages

for module in (host_resolution, esia, pages):
    print(f"== {module.__name__}", flush=True)
    module.main()
