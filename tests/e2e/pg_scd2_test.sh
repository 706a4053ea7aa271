#!/usr/bin/env bash
# mode scd2 into PostgreSQL against a row-by-row oracle: see scd2_oracle_lib.sh.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
TARGET_KIND=pg
source "$(dirname "$0")/scd2_oracle_lib.sh"
