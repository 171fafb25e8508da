"""Shared machinery of every stage: configuration, settings, storage, HTTP clients, the suite runner, checks,
artifacts, run bookkeeping, the outbox and the disclosure policy. It never imports a stage package."""
