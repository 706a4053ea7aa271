#!/usr/bin/env bash
# The quickstart job loads every CSV row into the SQLite mart, shows a summary, exits 0,
# and re-running it (mode: replace) gives the same mart.
source "$(dirname "$0")/lib.sh"
cp -r "$ROOT/examples/quickstart" "$WORK/qs"
rm -rf "$WORK/qs/data" "$WORK/qs"/mart.db*
"$WORK/qs/generate.sh"
expected_orders=$(( $(cat "$WORK"/qs/data/orders_*.csv | wc -l) - 5 ))
expected_customers=$(( $(cat "$WORK"/qs/data/customers_*.csv | wc -l) - 5 ))

# The second pass puts --resume before the job file, as make demo does: with no unfinished
# run it starts a new one.
for pass_no in 1 2; do
  if [ "$pass_no" = 1 ]; then
    expect_exit 0 "$SLUICE" run "$WORK/qs/job.yaml" --progress plain -w 2
  else
    expect_exit 0 "$SLUICE" run --resume "$WORK/qs/job.yaml" --progress plain -w 2
  fi
  expect_contains "$WORK/out" "orders"
  expect_contains "$WORK/out" "succeeded"
  orders=$(sqlite3 "$WORK/qs/mart.db" "select count(*) from orders")
  customers=$(sqlite3 "$WORK/qs/mart.db" "select count(*) from customers")
  [ "$orders" = "$expected_orders" ] && pass "run $pass_no: $orders orders" || fail "run $pass_no: $orders orders, expected $expected_orders"
  [ "$customers" = "$expected_customers" ] && pass "run $pass_no: $customers customers" || fail "run $pass_no: $customers customers, expected $expected_customers"
done
# Values keep their meaning: quoted commas and doubled quotes, decimals, timestamps.
note=$(sqlite3 "$WORK/qs/mart.db" "select note from orders where note is not null and note <> '' limit 1")
[ "$note" = 'gift, wrapped "with care"' ] && pass "quoted note kept" || fail "note is '$note'"
sum_db=$(sqlite3 "$WORK/qs/mart.db" "select printf('%.2f', sum(amount)) from orders where country='AFG'")
sum_csv=$(awk -F, 'NR>1 {s+=$5} END {printf "%.2f", s}' "$WORK/qs/data/orders_afg.csv")
[ "$sum_db" = "$sum_csv" ] && pass "AFG revenue $sum_db matches the CSV" || fail "AFG revenue $sum_db != $sum_csv"

# JSON progress events.
expect_exit 0 "$SLUICE" run "$WORK/qs/job.yaml" --progress json -w 2
expect_contains "$WORK/out" '"event":"run_started"'
expect_contains "$WORK/out" '"event":"partition_committed"'
expect_contains "$WORK/out" '"event":"run_finished"'

# On a terminal the default is a live bar with rows/s, ETA and partitions done/total.
if command -v script >/dev/null; then
  script -qec "'$SLUICE' run '$WORK/qs/job.yaml' -w 2" /dev/null >"$WORK/tty.out" 2>&1 </dev/null \
    && pass "run on a terminal exits 0" || fail "run on a terminal failed"
  expect_contains "$WORK/tty.out" "ETA"
  expect_contains "$WORK/tty.out" "rows/s"
  grep -q $'\r' "$WORK/tty.out" && pass "the bar redraws in place" || fail "no carriage return: not a live bar"
fi
finish
