"""What happens to a job after it was submitted: tasks held back (scout frames, budget) and
released (:mod:`.gate`), what azrender remembers to do so (:mod:`.record`)."""
