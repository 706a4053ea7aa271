#!/usr/bin/env bash
# `make demo`: generate the quickstart CSV files (once), load them, show what landed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$here/generate.sh"
# --resume: a demo stopped with Ctrl-C continues where it stopped; otherwise a new run starts.
"$root/build/sluice" run --resume "$here/job.yaml"
echo
echo "Loaded into $here/mart.db. For example:"
query="SELECT country, count(*) AS orders, round(sum(amount), 2) AS revenue
       FROM orders GROUP BY country ORDER BY revenue DESC;"
echo "  sqlite3 -header -column examples/quickstart/mart.db \"$(echo "$query" | tr -s ' \n' ' ')\""
sqlite3 -header -column "$here/mart.db" "$query"
