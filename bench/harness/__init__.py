"""What the bench scripts share: scratch databases, timing figures, instruments that count and
time what the code under test does, the machine's description, the per-database run, and the
Slack pieces (a FakeSlack in a child process, a seeded team, an HTTP load generator)."""
