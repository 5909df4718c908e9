# Two commands on a fresh machine: `make run` and `make test`.
# Both set everything up first (system packages, .venv, pinned Python
# packages, the default models) and are quick when already set up.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NLU := build/bundles/nlu/manifest.json
NLU_INPUTS := $(shell find edge_models/data -type f) edge_models/features.py edge_models/normalize.py \
	edge_models/intent_onnx.py edge_models/intent_head.py edge_models/intent_explain.py edge_models/token_features.py \
	$(addprefix edge_models/build/,train_intent.py calibrate.py data.py onnx_graph.py embed_head.py token_head.py)

.PHONY: setup run test lint typecheck unit models embedder bench bench-voice eval clean

LLM := build/bundles/llm/manifest.json
# The int8 MiniLM sentence embedder (optimum export + ORTQuantizer, about 10 s).
EMBEDDER := build/bundles/embedder/manifest.json

setup: $(STAMP) $(NLU) $(LLM) $(EMBEDDER)

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh
	bash scripts/setup.sh
	touch $@

# The intent model's second head is trained on the embedder's sentence vectors: the embedder comes first.
$(NLU): $(STAMP) $(NLU_INPUTS) $(EMBEDDER)
	$(PY) -m edge_models.build.train_intent --data edge_models/data --out build/bundles/nlu --origin seed \
		--embedder build/bundles/embedder

$(LLM): $(STAMP) edge_models/build/llm_bundle.py
	$(PY) -m edge_models.build.llm_bundle --out build/bundles/llm --origin seed

$(EMBEDDER): $(STAMP) edge_models/build/embedder.py edge_models/embedder_onnx.py
	$(PY) -m edge_models.build.embedder --out build/bundles/embedder --origin seed

embedder: $(EMBEDDER)

models: $(NLU) $(LLM) $(EMBEDDER)

run: setup
	$(VENV)/bin/kiosk run

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest

test: lint typecheck unit

eval: setup
	$(PY) scripts/eval_nlu.py tests/data/nlu_unseen.tsv

bench: setup
	$(PY) scripts/bench_nlu.py

bench-voice: setup
	$(PY) scripts/bench_voice.py

clean:
	rm -rf build $(VENV) .mypy_cache .ruff_cache .pytest_cache
