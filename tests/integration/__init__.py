"""Integration tests: they run against the real local Kafka broker that tests/run.sh starts."""
