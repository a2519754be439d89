"""The verification workflow: campaigns, coverage and priorities, assignments, visits and their checks,
back-checks, the assignment proposal, prelists, progress and the berita acara."""
