#!/usr/bin/env bash
# Writes the quickstart's CSV files into data/: customers and orders for five countries of
# very different sizes, deterministic (same bytes on every machine), with mawk only: Debian's
# default awk, named because gawk (which mariadb-server pulls in) draws other random numbers.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p data
# country code, customers, orders
countries="afg 800 4000
bgd 9000 120000
syr 3000 40000
tur 20000 300000
ken 1500 15000"
stamp=data/.generated-v1
[ -f "$stamp" ] && exit 0
while read -r code customers orders; do
  mawk -v code="$code" -v n="$customers" 'BEGIN {
    srand(length(code) * 7919 + n);
    split("Amina Omar Layla Karim Nadia Yusuf Sara Ali Hana Tariq", first, " ");
    split("Haddad Rahman Okafor Demir Mwangi Karimi Aziz Yilmaz Otieno Hossain", last, " ");
    print "customer_id,country,name,signup_date,segment";
    for (i = 1; i <= n; i++) {
      f = first[int(rand() * 10) + 1]; l = last[int(rand() * 10) + 1];
      d = sprintf("20%02d-%02d-%02d", 15 + int(rand() * 10), 1 + int(rand() * 12), 1 + int(rand() * 28));
      seg = (rand() < 0.2) ? "\"wholesale, tier 1\"" : "retail";
      printf "%s%07d,%s,%s %s,%s,%s\n", toupper(code), i, toupper(code), f, l, d, seg;
    }
  }' > "data/customers_${code}.csv"
  mawk -v code="$code" -v n="$orders" -v nc="$customers" 'BEGIN {
    srand(length(code) * 104729 + n);
    split("new paid shipped delivered returned", status, " ");
    print "order_id,country,customer_id,ordered_at,amount,quantity,status,note";
    for (i = 1; i <= n; i++) {
      ts = sprintf("2025-%02d-%02d %02d:%02d:%02d", 1 + int(rand() * 12), 1 + int(rand() * 28),
                   int(rand() * 24), int(rand() * 60), int(rand() * 60));
      amount = sprintf("%.2f", rand() * 500 + 1);
      note = (rand() < 0.01) ? "\"gift, wrapped \"\"with care\"\"\"" : "";
      printf "%d,%s,%s%07d,%s,%s,%d,%s,%s\n", i, toupper(code), toupper(code), 1 + int(rand() * nc),
             ts, amount, 1 + int(rand() * 5), status[int(rand() * 5) + 1], note;
    }
  }' > "data/orders_${code}.csv"
done <<< "$countries"
touch "$stamp"
