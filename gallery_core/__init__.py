"""Shared configuration and contract files for every part of the product.

`settings` holds the one settings object (ports, paths, limits); `contracts` loads the
declarative files (`kafka/topics.json`, `connectors/*.json`, `mappings/*.json`) that the local
stack and `docker-compose.yml` both use.
"""
