"""Stage 2, validate: the year's loaded data checked per dataset, for completeness, reconciliation and collapses."""
