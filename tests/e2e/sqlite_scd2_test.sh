#!/usr/bin/env bash
# mode scd2 into SQLite against a row-by-row oracle: see scd2_oracle_lib.sh.
source "$(dirname "$0")/lib.sh"
TARGET_KIND=sqlite
source "$(dirname "$0")/scd2_oracle_lib.sh"
