"""The parts of bench/slack_ack_bench.py: the apps it compares, the requests it sends, one run
per database, the table it prints."""
