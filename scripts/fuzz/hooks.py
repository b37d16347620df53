"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) during `npm run fuzz`.

The agents API's `POST /api/v1/events/stateful` takes the Wazuh agent's NDJSON
(`application/x-ndjson`), described as a string body: it goes on the wire as that text.
"""
import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
