.PHONY: run setup test check cluster

# Set up on the embedded defaults and start everything (Ctrl-C stops it).
run:
	scripts/run.sh

setup:
	scripts/setup.sh

# Install what the tests need, check the layering and ruff (scripts/lint.sh),
# start Redis and PostgreSQL, run the whole suite.
test:
	scripts/test.sh $(PYTEST_ARGS)

check:
	.venv/bin/python manage.py check

# The multi-process stack on one machine: PostgreSQL, WEB_PROCESSES web processes
# behind HAProxy, a worker per queue and beat (Ctrl-C stops everything).
cluster:
	scripts/cluster.sh
