"""The steps of the duty cycle: one package per stage (named as its flow) and one shared package."""
