"""Call recording: which calls are recorded (policy, pure), and the files (finished, stored, purged)."""
