"""Calls the API of `sluice serve` HZ times a second (default 10), round robin over its read
routes, until run RUN has ended; prints one JSON line per route with the latencies in ms
(bench/serve). With HZ 0 it only asks for the run's status once a second, to see its end."""
import http.client
import json
import sys
import time
import urllib.parse

api, run = sys.argv[1], sys.argv[2]
hz = float(sys.argv[3]) if len(sys.argv) > 3 else 10
url = urllib.parse.urlparse(api)
routes = ["/api/runs?limit=20", f"/api/runs/{run}", "/api/jobs", "/healthz", "/metrics"] if hz > 0 else [f"/api/runs/{run}"]
ms = {r.split("?")[0]: [] for r in routes}
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
i = 0
while True:
    route = routes[i % len(routes)]
    start = time.perf_counter()
    conn.request("GET", route)
    resp = conn.getresponse()
    body = resp.read()
    ms[route.split("?")[0]].append((time.perf_counter() - start) * 1000)
    if resp.status != 200:
        sys.exit(f"serve_probe: GET {route}: {resp.status} {body[:200]!r}")
    if route == f"/api/runs/{run}" and json.loads(body)["status"] != "running":
        break
    i += 1
    time.sleep(1 / hz if hz > 0 else 1)
for route, values in ms.items():
    print(json.dumps({"route": route.replace(run, "{id}"), "ms": values}))
