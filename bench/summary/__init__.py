"""The parts of bench/summary_bench.py, one job each: the data plan, the generated rows, the
fill, the timed comparisons, the write and read sides, memory, the profile, the plans, one
database's run, the printout."""
