#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_readme.sh -- in `make test`: every excerpt of command output in
# README.md and docs/ERRATUM.md is what the built binary prints today.  Each
# excerpt is remade into a temporary copy (nothing is written) and compared;
# one that drifted fails, named by file, line and command, with the diff.
# `make readme` (scripts/readme-excerpts) remakes them in place.
exec bash "$(dirname "$0")/../scripts/readme-excerpts" --check --bin "${SNPSAFE_BIN:-build/snpsafe}"
