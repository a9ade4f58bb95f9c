"""Stage 4: turn a submission into a job spec and Azure Batch requests."""
