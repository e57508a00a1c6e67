"""The stages of a migration: plan (precheck), schema, full, incremental, and the runner."""
