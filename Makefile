# Two commands on a fresh machine: `make run` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

NODE_STAMP := node_modules/.installed

.PHONY: run test bench soak install emulator teams-package clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Microsoft's Teams emulator (package.json), for local mode and the end-to-end Teams test. Without npm,
# local mode says so and still serves, and the emulator test is skipped (outside CI).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

emulator:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(NODE_STAMP); \
	else echo "npm not found: the Teams emulator will not be installed (install Node.js 20+ for local mode in a browser)"; fi

# With no Slack or Teams credentials: local mode, the Teams emulator in your browser.
run: install emulator
	$(VENV)/bin/policybot serve

test: install emulator
	$(PY) -m pytest -q

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Load, faults and hostile input against real servers on loopback (README, "Reliability"); bounded, stops by itself.
soak: install emulator
	$(PY) -m bench.soak

# The app package to upload to Teams; needs MICROSOFT_APP_ID in .env.
teams-package: install
	$(PY) -m bot.teams.package

clean:
	rm -rf $(VENV) .pytest_cache node_modules build
