"""One module per CLI verb; each imports its heavy dependencies only when run."""
