.PHONY: run setup test check

# Set up on the embedded defaults and start everything (Ctrl-C stops it).
run:
	scripts/run.sh

setup:
	scripts/setup.sh

# Install what the tests need, start Redis and PostgreSQL, run the whole suite.
test:
	scripts/test.sh $(PYTEST_ARGS)

check:
	.venv/bin/python manage.py check
