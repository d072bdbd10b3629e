"""The streaming edge of Correlator: the only package that talks to Kafka or imports faust."""
