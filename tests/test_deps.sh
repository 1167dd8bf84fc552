#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_deps.sh -- in `make test` (tests/run.sh runs it beside the test
# binaries): every program the scripts and Makefiles run is on CI's fresh
# machine or installed by the project's own scripts before it runs, and
# scripts/deps.txt says so truly.  The check is scripts/deps-check.
exec bash "$(dirname "$0")/../scripts/deps-check"
