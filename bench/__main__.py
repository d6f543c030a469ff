"""Run every benchmark module and print its figures."""

from bench import esia, host_resolution

for module in (host_resolution, esia):
    print(f"== {module.__name__}")
    module.main()
