#!/usr/bin/env bash
# The library as a user gets it: `cmake --install` of this build into a temporary prefix,
# examples/api configured against it with find_package(sluice) and built, then run against a
# private PostgreSQL: the paged custom source loads exactly its rows (count + ordered md5
# against an oracle PostgreSQL computes); the custom transform is used from contacts.yaml by name (normalised
# numbers, one reject, one filtered row). A program compiled with `pkg-config --cflags --libs
# sluice` links and runs too. So the public API, the package files and the examples cannot
# break silently.
source "$(dirname "$0")/lib.sh"
BUILD="$(dirname "$SLUICE")"
PREFIX="$WORK/prefix"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "cmake --install"; finish; }
for f in include/sluice/sluice.hpp lib/libsluice.a lib/cmake/sluice/sluiceConfig.cmake lib/pkgconfig/sluice.pc bin/sluice; do
  if [ -e "$PREFIX/$f" ]; then pass "installed $f"; else fail "missing $f"; fi
done
if grep -rq '#include "\(core\|engine\|connectors\|config\|plan\|run\|state\|transform\)/' "$PREFIX/include/sluice"; then
  fail "a public header includes an internal one"
else
  pass "public headers are self-contained"
fi

# examples/api against the installed package (ccache keeps reruns cheap).
cmake -S "$ROOT/examples/api" -B "$WORK/examples" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release \
  >"$WORK/examples.log" 2>&1 && cmake --build "$WORK/examples" -j2 >>"$WORK/examples.log" 2>&1 \
  || { cat "$WORK/examples.log"; fail "examples/api did not build against the installed sluice"; finish; }
pass "examples/api built with find_package(sluice)"

# pkg-config: a one-file program.
cat >"$WORK/pc.cpp" <<'CPP'
#include <sluice/sluice.hpp>
#include <cstdio>
#include <cstring>
int main() {
    sluice::api::Job job;
    job.name = "pc";
    std::printf("%s %d\n", sluice::api::LibraryVersion(), std::strstr(job.ToYaml().c_str(), "name: \"pc\"") != nullptr);
    return 0;
}
CPP
if PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" g++ -std=c++20 "$WORK/pc.cpp" -o "$WORK/pc" \
     $(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags --libs sluice) -Wl,-rpath,"$PREFIX/lib" \
   && [ "$("$WORK/pc")" = "0.1.0 1" ]; then
  pass "pkg-config --cflags --libs sluice compiles, links and runs"
else
  fail "pkg-config build"
fi

source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE dwh"
URL="$PG_BASE/dwh"

# (1) custom source -> PostgreSQL, job built in code.
expect_exit 0 "$WORK/examples/paged_source" "$URL" 37 && pass "paged_source ran"
expect_contains "$WORK/out" "succeeded: 3700 rows"
got=$(table_digest dwh public.orders id)
want=$(psql_db dwh -c "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM (SELECT g::int8 AS id,
        'customer-' || g % 37 AS customer, (g % 1000 || '.25')::numeric AS amount FROM generate_series(1, 3700) g) t")
if [ "$got" = "$want" ]; then pass "orders = oracle ($got)"; else fail "orders $got, oracle $want"; fi
parts=$(psql_db dwh -c "SELECT count(*) FROM sluice.partitions WHERE stream = 'orders' AND status = 'committed'")
if [ "$parts" = 4 ]; then pass "4 partitions committed (10 pages each)"; else fail "partitions: $parts"; fi

# (2) custom transform by name from a YAML job.
cp "$ROOT/examples/api/contacts.yaml" "$ROOT/examples/api/contacts.csv" "$WORK/"
export SLUICE_EXAMPLE_PG="$URL"
expect_exit 0 "$WORK/examples/phone_transform" "$WORK/contacts.yaml" && pass "phone_transform ran"
expect_contains "$WORK/out" "contacts succeeded: 4 written, 1 rejected"
got=$(psql_db dwh -c "SELECT string_agg(id || '=' || phone, ' ' ORDER BY id) FROM public.contacts")
want="1=+15551234567 2=+442079460958 3=+15559876543 6=+15552223333"
if [ "$got" = "$want" ]; then pass "phones normalised ($got)"; else fail "phones: $got, want $want"; fi
expect_contains "$WORK/rejects/contacts.jsonl" "not a phone number: 12345"
# The plain CLI has no such transform: it says so, exit 2.
expect_exit 2 "$SLUICE" plan "$WORK/contacts.yaml" && expect_contains "$WORK/err" "no custom transform 'normalize_phone'"
finish
