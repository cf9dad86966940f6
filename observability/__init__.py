"""What the service tells operators about itself beyond its logs: Prometheus metrics (contract §14)."""
