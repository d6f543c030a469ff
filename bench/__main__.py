"""Run every benchmark module and print its figures."""

from bench import host_resolution

for module in (host_resolution,):
    print(f"== {module.__name__}")
    module.main()
