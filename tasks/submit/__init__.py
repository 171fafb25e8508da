"""Stage 5, submit: the annual-review package built, checked, stored and recorded against its deadline."""
