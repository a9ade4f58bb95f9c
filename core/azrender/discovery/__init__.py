"""Stage 1: find every file a scene needs (headless readers and host collectors share the records)."""
