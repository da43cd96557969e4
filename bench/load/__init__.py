"""`make load`: query_api under 20 concurrent people while ingest and two converters work.

Locust runs the users (bench/load/locustfile.py) in its own process: it monkeypatches
the standard library with gevent, so nothing here imports it. The runner
(bench/load/run.py) starts the stack, seeds runs through the upload route, runs Locust,
samples every service's RSS and CPU, then checks every export and upload it started.
"""
