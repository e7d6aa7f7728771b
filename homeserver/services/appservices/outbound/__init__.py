"""The homeserver's side of the application-service API: transactions through
a durable per-AS queue, queries, ping and third-party lookups."""
