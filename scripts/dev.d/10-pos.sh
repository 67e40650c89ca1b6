# Sourced by scripts/run-dev.sh: create or upgrade the reference POS tables, and fill an empty POS with the
# demo shop so the first `make run` has something to sync.
flask --app app pos init
flask --app app pos seed --demo --if-empty
