"""The parts of bench/close_bench.py: its data, what it times and checks, one database's run,
its printout."""
